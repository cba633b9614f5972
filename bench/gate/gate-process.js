// guard-gate as its own process for the benchmark: started with the compiled build, log silent, no
// pod monitor. The parent asks it over IPC to sync now and to report its memory.
import { pino } from 'pino';
import { gateConfig } from '../../build/js/gate/config.js';
import { startGate } from '../../build/js/gate/index.js';

const [upstream, serviceUrl] = process.argv.slice(2);
const gate = await startGate(
  gateConfig({ serviceName: 'shop', namespace: 'bench', protectedService: upstream, guardServiceUrl: serviceUrl, port: 0, adminPort: 0, monitorPod: false, analyzeBody: true }),
  { log: pino({ level: 'silent' }), podName: 'shop-bench-1' },
);
process.on('message', async (msg) => {
  if (msg.op === 'sync') {
    await gate.syncNow();
    process.send({ id: msg.id });
  } else if (msg.op === 'memory') {
    process.send({ id: msg.id, rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, mu: process.memoryUsage() });
  }
});
process.send({ port: gate.port });
process.on('disconnect', () => gate.close().finally(() => process.exit(0)));
