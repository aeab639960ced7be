#!/usr/bin/env node
// Starts local-aws-sqs (Query and JSON 1.0 protocols, no signature check: put
// sigv4-proxy.mjs with service "sqs" in front) on 127.0.0.1.
//
//   node sqs-server.mjs PORT [QUEUE...]     (0 = a free port; prints "ready <port>")
//
// Each QUEUE is created at start; a name ending in ".fifo" becomes a FIFO
// queue (FifoQueue=true, ContentBasedDeduplication=false, as AWS defaults).
// Queue URLs are http://127.0.0.1:<port>/123456789012/<name>, but
// local-aws-sqs finds the queue by the last path segment of QueueUrl only,
// so a URL naming the proxy's host:port works as well.
//
// Gotcha: local-aws-sqs takes the JSON protocol only when content-type is
// exactly "application/x-amz-json-1.0" (a "; charset=..." suffix makes it
// parse the body as a Query form).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createSqsServer } = require('local-aws-sqs');

const port = Number(process.argv[2] || 0);
const queues = process.argv.slice(3).map((name) => (name.endsWith('.fifo')
  ? { QueueName: name, Attributes: { FifoQueue: 'true' } }
  : { QueueName: name }));

const server = await createSqsServer({ port, hostname: '127.0.0.1', queues });
process.stdout.write(`ready ${server.address().port}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
