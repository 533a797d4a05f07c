import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import mqtt from '../../src/shared/mqtt.js';

describe('the MQTT client module', () => {
  it('turns off mqtt-packet number cache (65,536 Buffers, ~8 MB of heap) and still encodes message ids', () => {
    expect(typeof mqtt.connect).toBe('function');
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    const bytes = mqttPacket.generate({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 0x1234,
      retain: false,
      dup: false,
    });
    const parser = mqttPacket.parser();
    const got: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => got.push(p));
    parser.parse(bytes);
    expect(got).toMatchObject([{ cmd: 'publish', topic: 't', qos: 1, messageId: 0x1234 }]);
  });
});
