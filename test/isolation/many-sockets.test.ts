// The host's unix sockets are found in /proc/net/unix, which the kernel serves a page at a time:
// a host with many sockets must have every one of them masked, not only the first page's.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostUnixSocketMasks } from '../../src/isolation.js';
import { tempDir } from '../helpers/process.js';

describe('host unix sockets', () => {
  it('masks every bound socket however long /proc/net/unix is (it reads past its first page)', async () => {
    const dir = tempDir('cordon-many-sockets-');
    const servers: net.Server[] = [];
    try {
      for (let i = 0; i < 150; i++) {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen(join(dir.dir, `s${i}.sock`), resolve));
        servers.push(server);
      }
      expect(readFileSync('/proc/net/unix', 'latin1').length).toBeGreaterThan(8192); // more than a page
      const ws = tempDir();
      const masks = hostUnixSocketMasks([ws.dir], ws.dir);
      ws.cleanup();
      for (let i = 0; i < 150; i++) expect(masks.masked).toContain(join(dir.dir, `s${i}.sock`));
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      dir.cleanup();
    }
  });
});
