// The built-in demo workload: a small HTTP server that answers a fixed set of requests from its
// own client and exits. Writes what it served as JSON to the file given as its argument (its
// stdout stays free), and exits 1 if any request failed.
import { writeFileSync } from 'node:fs';
import http from 'node:http';

const pages = {
  '/': 'Hello from the sysfence demo server.\n',
  '/about': 'This server runs under a seccomp profile generated from its own recording.\n',
};
const requests = ['/', '/about', '/missing', '/', '/about', '/nowhere'];

const server = http.createServer((req, res) => {
  const body = pages[req.url ?? ''];
  if (body === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(body);
});

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (d) => {
          bytes += d.length;
        });
        res.on('end', () => resolve({ path, status: res.statusCode, bytes }));
      })
      .on('error', reject);
  });
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const served = [];
  let failed = null;
  try {
    for (const path of requests) served.push(await get(port, path));
  } catch (e) {
    failed = String(e);
  }
  server.close(() => {
    if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ served, failed }));
    process.exit(failed ? 1 : 0);
  });
});
server.on('error', (e) => {
  if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ served: [], failed: String(e) }));
  process.exit(1);
});
