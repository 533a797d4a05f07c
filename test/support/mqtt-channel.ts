/**
 * For tests (the agent backs the channel with its control-room sink's connection): a
 * CommandChannel over one mqtt.js client that reconnects by itself (mqtt.js `reconnectPeriod`
 * > 0): subscribes at QoS 1 now and again on every `connect` (with `clean: true` the broker
 * forgets subscriptions with the session). The caller owns the client and ends it.
 */
import type { MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt';
import type { CommandChannel, MessageMeta } from '../../src/sinks/sink.js';

export class MqttClientChannel implements CommandChannel {
  private readonly handlers = new Map<string, (topic: string, payload: Buffer, meta?: MessageMeta) => void>();
  private readonly onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) =>
    this.handlers.get(topic)?.(topic, payload, { retain: packet.retain });
  private readonly onConnect = () => {
    for (const t of this.handlers.keys()) this.client.subscribe(t, { qos: 1 });
  };

  constructor(private readonly client: MqttClient) {
    client.on('message', this.onMessage);
    client.on('connect', this.onConnect);
  }

  async subscribe(topic: string, handler: (topic: string, payload: Buffer, meta?: MessageMeta) => void): Promise<void> {
    this.handlers.set(topic, handler);
    if (!this.client.connected) return; // onConnect subscribes
    await new Promise<void>((resolve, reject) =>
      this.client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
  }

  async unsubscribe(topic: string): Promise<void> {
    this.handlers.delete(topic);
    if (!this.client.connected) return;
    await new Promise<void>((resolve) => this.client.unsubscribe(topic, () => resolve()));
  }

  async publish(topic: string, payload: string): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Detaches from the client (does not end it). */
  close(): void {
    this.client.off('message', this.onMessage);
    this.client.off('connect', this.onConnect);
    this.handlers.clear();
  }
}
