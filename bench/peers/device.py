#!/usr/bin/python3
"""The simulated device every peer of `npm run bench:peers` polls: an independent Modbus TCP server
(pymodbus 3.0.0rc1, Debian's python3-pymodbus; not Halfweg's own simulator).

Usage: device.py <registers> [port]     (port 0 or absent: a free one)

Serves `registers` holding registers (addresses 0..registers-1, unit id any) whose values all
change every second: a slow sine per register plus a little noise, like process measurements,
so that no peer can report by exception. Prints "READY <port>" once it answers, runs until killed.
"""
import asyncio
import logging
import math
import random
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server.async_io import ModbusTcpServer


def values(n, t):
    return [int(20000 + 10000 * math.sin(t / 60 + i) + random.randint(0, 50)) for i in range(n)]


async def main():
    n = int(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    hr = ModbusSequentialDataBlock(0, values(n, 0))
    slave = ModbusSlaveContext(hr=hr, ir=ModbusSequentialDataBlock(0, [0]), co=ModbusSequentialDataBlock(0, [0]),
                               di=ModbusSequentialDataBlock(0, [0]), zero_mode=True)
    context = ModbusServerContext(slaves=slave, single=True)
    server = ModbusTcpServer(context, ModbusSocketFramer, address=("127.0.0.1", port), allow_reuse_address=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print(f"READY {server.server.sockets[0].getsockname()[1]}", flush=True)
    t = 0
    while True:
        await asyncio.sleep(1)
        t += 1
        hr.setValues(0, values(n, t))


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
