// Worker thread entry for the parallel verifier (page-pool.ts): reads and
// hashes its share of pages on its own read-only connection. Any failure
// marks it dead, and the verifier's main thread reads its pages itself.
import { workerData } from 'node:worker_threads';
import { openReadOnly } from '../store/open.js';
import { type PageWorkerData, servePages, signal } from './page-pool.js';

const data = workerData as PageWorkerData;
signal(data.shared, 'started');
try {
  const db = openReadOnly(data.path);
  try {
    db.exec('BEGIN');
    servePages(db, data);
  } finally {
    db.close();
  }
} catch {
  signal(data.shared, 'dead');
}
