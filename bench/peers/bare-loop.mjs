// The bare peer of `npm run bench:peers`: what a few lines of modbus-serial + mqtt.js do with no
// store, no detection and no aggregates. Every second, per device: read every register in blocks
// of 125 (one request at a time on the device's connection, as a PLC wants), then publish one JSON
// array of the block's values per block to bench/bare/<device>/<start>.
// Usage: node bare-loop.mjs <broker url> '<[{"host":..,"port":..,"registers":..}, ...]>'
import ModbusRTU from 'modbus-serial';
import mqtt from 'mqtt';

const [url, spec] = process.argv.slice(2);
const devices = JSON.parse(spec);
const broker = mqtt.connect(url, { clientId: `bare-${process.pid}` });
await new Promise((resolve, reject) => {
  broker.once('connect', resolve);
  broker.once('error', reject);
});

async function poll(index, { host, port, registers }) {
  const client = new ModbusRTU();
  await client.connectTCP(host, { port });
  client.setID(1);
  client.setTimeout(1000);
  for (let next = Date.now(); ; ) {
    for (let start = 0; start < registers; start += 125) {
      const count = Math.min(125, registers - start);
      try {
        const { data } = await client.readHoldingRegisters(start, count);
        broker.publish(`bench/bare/${index}/${start}`, JSON.stringify(data), { qos: 0 });
      } catch (err) {
        console.error(`device ${index} read ${start}+${count}: ${err.message}`);
      }
    }
    next += 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
}

devices.forEach((d, i) => poll(i, d).catch((err) => {
  console.error(`device ${i}: ${err.message}`);
  process.exit(1);
}));
console.log('READY');
