/**
 * The light readings the validation benchmarks send: values of asyncapi/demo.yaml's message,
 * padded to a size. Invalid ones break the contract in varied ways (a negative or fractional
 * lumens, a string for a number, a date that is not one), so the validator's error paths vary too.
 */
export function sensorPayload(i: number, valid: boolean, size: number): string {
  const sentAt = new Date(Date.UTC(2024, 0, 1) + i * 1_000).toISOString();
  const faults = [
    { lumens: -1 - i },
    { lumens: 'bright' },
    { lumens: i, sentAt: 'yesterday' },
    { lumens: i + 0.5 },
  ];
  const fields = valid ? { lumens: (i * 37) % 5000, sentAt } : { sentAt, ...faults[i % faults.length] };
  const value = {
    ...fields,
    sensor: { id: `sensor-${i % 97}`, site: ['north', 'east', 'south', 'west'][i % 4], firmware: '2.4.1' },
    note: '',
  };
  const filler = 'light level reading from the roof-top sensor array, ';
  const bare = JSON.stringify(value).length;
  value.note = filler.repeat(Math.ceil(size / filler.length)).slice(0, Math.max(0, size - bare));
  return JSON.stringify(value);
}
