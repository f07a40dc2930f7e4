import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import type { DuplexOptions } from 'node:stream';
import tls from 'node:tls';
import type { TlsClientOptions } from '../config/gateway-config';
import type { RecycledReads } from './recycled-reads';
import { WRITE_QUEUE_BYTES } from './sockets';

export interface UpstreamOptions {
  connectTimeoutMs: number;
  tls: TlsClientOptions;
}

/**
 * Opens connections to brokers, in plain TCP or TLS as configured. Bytes written before the
 * connection is established are queued by the socket, so a client's first request need not wait.
 */
export class UpstreamConnector {
  private readonly tlsOptions: tls.ConnectionOptions | null;

  constructor(private readonly options: UpstreamOptions) {
    const t = options.tls;
    this.tlsOptions = t.enabled
      ? {
          ca: t.ca ? readFileSync(t.ca) : undefined,
          cert: t.cert ? readFileSync(t.cert) : undefined,
          key: t.key ? readFileSync(t.key) : undefined,
          rejectUnauthorized: t.rejectUnauthorized,
        }
      : null;
  }

  /**
   * With `reads`, a plain TCP socket delivers what it reads there (and emits no 'data' events);
   * TLS sockets always emit 'data'.
   */
  connect(host: string, port: number, reads?: RecycledReads): Socket {
    const socket = this.tlsOptions
      ? tls.connect({
          ...this.tlsOptions,
          host,
          port,
          servername: this.options.tls.servername ?? (net.isIP(host) ? undefined : host),
        })
      : net.connect(plainOptions(host, port, reads));
    socket.setTimeout(this.options.connectTimeoutMs, () => {
      socket.destroy(
        new Error(`connecting to broker ${host}:${port} timed out after ${this.options.connectTimeoutMs} ms`),
      );
    });
    socket.once(this.tlsOptions ? 'secureConnect' : 'connect', () => socket.setTimeout(0));
    return socket;
  }
}

/**
 * net.Socket takes the stream options of a Duplex (the writable high-water mark among them),
 * though Node's connect typings do not list them.
 */
function plainOptions(
  host: string,
  port: number,
  reads: RecycledReads | undefined,
): net.NetConnectOpts & Pick<DuplexOptions, 'writableHighWaterMark'> {
  return {
    host,
    port,
    writableHighWaterMark: WRITE_QUEUE_BYTES,
    ...(reads === undefined ? {} : { onread: reads.onread }),
  };
}
