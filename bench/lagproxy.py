# A TCP proxy that holds each chunk from the client for DELAY seconds before passing it on: every
# request to the S3 server behind it then waits about one DELAY, like a store across a network.
# Usage: python3 bench/lagproxy.py LISTEN_PORT TARGET_PORT DELAY_SECONDS [LOG_FILE]
# (bench/s3-latency.sh starts it). With LOG_FILE, each HTTP request's first line is appended there
# with the time it arrived: requests a few ms apart went side by side, DELAY apart one after another.
import asyncio, sys, time
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
log = open(sys.argv[4], 'a', buffering=1) if len(sys.argv) > 4 else None
METHODS = (b'GET ', b'PUT ', b'HEAD', b'POST', b'DELE')
async def pipe(r, w, lag):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            if log and lag and data[:4] in METHODS:
                log.write('%.4f %s\n' % (time.time(), data.split(b'\r\n', 1)[0].decode(errors='replace')))
            if lag:
                await asyncio.sleep(lag)
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    sr, sw = await asyncio.open_connection('127.0.0.1', target)
    await asyncio.gather(pipe(cr, sw, delay), pipe(sr, cw, 0))
async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', listen)
    async with server:
        await server.serve_forever()
asyncio.run(main())
