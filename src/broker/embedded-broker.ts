/**
 * An MQTT broker inside the agent (aedes, MQTT 3.1.1/5, in-memory persistence), for the demo and
 * for a first try with nothing installed: the control-room and cloud sinks connect to it like to
 * any broker. Chosen over writing one: aedes is the maintained in-process broker for Node (MIT,
 * engines node >= 20, QoS 1/2, retained messages, used by many test suites and gateways).
 *
 * Lifecycle: the constructor assigns; `start()` listens (a port in use is HALFWEG_START_FAILED
 * with the address); `stop()` closes the listener, every client connection and the broker.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../ops/log.js';
import type { BrokerConfig } from './options.js';

export class EmbeddedBroker {
  private broker: Aedes | null = null;
  private server: net.Server | null = null;
  /** The port listened on (config may say 0: any free port). */
  port = 0;
  /** Messages published through it, clients connected: for the demo's view. */
  readonly counts = { published: 0, clients: 0 };

  constructor(
    private readonly config: BrokerConfig,
    private readonly log: Logger,
  ) {}

  get url(): string {
    return `mqtt://${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${this.port}`;
  }

  async start(): Promise<void> {
    const broker = await Aedes.createBroker();
    broker.on('publish', (_packet, client) => {
      if (client) this.counts.published++;
    });
    broker.on('client', () => this.counts.clients++);
    broker.on('clientDisconnect', () => this.counts.clients--);
    const server = net.createServer(broker.handle);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.config.port, this.config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => broker.close(() => r()));
      throw err;
    }
    server.on('error', (err) => this.log.error({ err: err.message }, 'embedded broker listener error'));
    this.broker = broker;
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.log.info({ url: this.url }, 'embedded MQTT broker listening (loopback, no authentication)');
  }

  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = null;
    this.broker = null;
    if (server) {
      server.close();
      // Clients are closed by the broker; the listener then finishes closing.
    }
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
  }
}
