export { SealogTransport, type SealogTransportOptions } from './transport.js';
