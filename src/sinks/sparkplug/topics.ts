/**
 * Sparkplug B topics (specification 3.0, chapter 4): `spBv1.0/<group>/<type>/<edge node>[/<device>]`
 * and the primary host application's `spBv1.0/STATE/<host id>`. Pure.
 */
export const NAMESPACE = 'spBv1.0';

export type NodeMessage = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD';
export type DeviceMessage = 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

export class SparkplugTopics {
  constructor(
    readonly group: string,
    readonly node: string,
  ) {}

  node_(type: NodeMessage): string {
    return `${NAMESPACE}/${this.group}/${type}/${this.node}`;
  }

  device(type: DeviceMessage, device: string): string {
    return `${NAMESPACE}/${this.group}/${type}/${this.node}/${device}`;
  }

  /** DCMD of every device of this node. */
  get deviceCommands(): string {
    return `${NAMESPACE}/${this.group}/DCMD/${this.node}/+`;
  }

  static state(hostId: string): string {
    return `${NAMESPACE}/STATE/${hostId}`;
  }

  /** The device a DCMD topic names, or undefined for any other topic. */
  commandDevice(topic: string): string | undefined {
    const prefix = `${NAMESPACE}/${this.group}/DCMD/${this.node}/`;
    return topic.startsWith(prefix) && !topic.slice(prefix.length).includes('/')
      ? topic.slice(prefix.length)
      : undefined;
  }
}

/**
 * The primary host's STATE payload (3.0, 7.2): `{"online":true,"timestamp":1767225600000}`,
 * retained. Null for anything else (a 2.2-style `ONLINE` string, junk).
 */
export function parseState(payload: Buffer | string): { online: boolean; timestamp: number } | null {
  try {
    const v = JSON.parse(payload.toString()) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { online, timestamp } = v as Record<string, unknown>;
    if (typeof online !== 'boolean' || typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return null;
    return { online, timestamp };
  } catch {
    return null;
  }
}
