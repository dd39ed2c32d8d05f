import { BufferShim } from './buffer.js';

// Imported first by main.ts so core modules find a Buffer when they run.
(globalThis as { Buffer?: unknown }).Buffer ??= BufferShim;
