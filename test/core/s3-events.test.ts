import { describe, expect, it } from 'vitest';
import { objectEvents } from '../../src/core/s3-events';

const record = (eventName: string, key: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'eu-west-1',
  eventTime: '2026-11-24T10:00:00.000Z',
  eventName,
  s3: { s3SchemaVersion: '1.0', bucket: { name: 'photos', arn: 'arn:aws:s3:::photos' }, object: { key, sequencer: '0065', ...extra } },
});

describe('objectEvents', () => {
  it('decodes keys the way S3 encodes them in notifications (+ is a space)', () => {
    const events = objectEvents({
      Records: [
        record('ObjectCreated:Put', 'holiday/caf%C3%A9+2026/a%2Bb+100%25.jpg', { size: 1234, eTag: 'abc' }),
        record('ObjectRemoved:DeleteMarkerCreated', 'old/x.jpg'),
      ],
    });
    expect(events).toEqual([
      { kind: 'created', eventName: 'ObjectCreated:Put', bucket: 'photos', key: 'holiday/café 2026/a+b 100%.jpg', encodedKey: 'holiday/caf%C3%A9+2026/a%2Bb+100%25.jpg', size: 1234, etag: 'abc', sequencer: '0065', eventTime: '2026-11-24T10:00:00.000Z' },
      { kind: 'removed', eventName: 'ObjectRemoved:DeleteMarkerCreated', bucket: 'photos', key: 'old/x.jpg', encodedKey: 'old/x.jpg', size: undefined, etag: undefined, sequencer: '0065', eventTime: '2026-11-24T10:00:00.000Z' },
    ]);
  });

  it('leaves out the s3:TestEvent and events of other kinds', () => {
    expect(objectEvents({ Service: 'Amazon S3', Event: 's3:TestEvent' } as never)).toEqual([]);
    expect(objectEvents({ Records: [record('ObjectRestore:Completed', 'a.jpg'), record('LifecycleExpiration:Delete', 'b.jpg')] })).toEqual([]);
    expect(objectEvents(undefined)).toEqual([]);
  });
});
