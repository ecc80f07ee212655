/**
 * S3 event notifications (what S3 sends a Lambda on ObjectCreated / ObjectRemoved), reduced to what
 * photo-scaler acts on. Keys in events are URL-encoded the way S3 Inventory writes them (form style:
 * '+' is a space), so they decode with the same function.
 */
import { decodeInventoryKey } from './inventory/keys';

export interface S3EventRecord {
  eventName?: string;
  eventTime?: string;
  s3?: {
    bucket?: { name?: string };
    object?: { key?: string; size?: number; eTag?: string; versionId?: string; sequencer?: string };
  };
}

/** `Records` is absent from the s3:TestEvent S3 sends when a notification is configured. */
export interface S3Event {
  Records?: S3EventRecord[];
}

export interface ObjectEvent {
  kind: 'created' | 'removed';
  /** e.g. `ObjectCreated:Put`, `ObjectRemoved:DeleteMarkerCreated`. */
  eventName: string;
  bucket: string;
  /** Decoded key. */
  key: string;
  /** The key as the event carries it (URL-encoded). */
  encodedKey: string;
  size?: number;
  etag?: string;
  sequencer?: string;
  eventTime?: string;
}

/** The object events of a notification, in order; records of other kinds (and test events) are left out. */
export function objectEvents(event: S3Event | undefined): ObjectEvent[] {
  const events: ObjectEvent[] = [];
  for (const record of event?.Records ?? []) {
    const eventName = (record.eventName ?? '').replace(/^s3:/, '');
    const kind = eventName.startsWith('ObjectCreated:') ? 'created' : eventName.startsWith('ObjectRemoved:') ? 'removed' : undefined;
    const bucket = record.s3?.bucket?.name;
    const encodedKey = record.s3?.object?.key;
    if (!kind || !bucket || !encodedKey) continue;
    const object = record.s3!.object!;
    events.push({
      kind,
      eventName,
      bucket,
      key: decodeInventoryKey(encodedKey),
      encodedKey,
      size: object.size,
      etag: object.eTag,
      sequencer: object.sequencer,
      eventTime: record.eventTime,
    });
  }
  return events;
}
