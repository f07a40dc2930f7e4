/**
 * The order record the Avro and Protobuf benchmarks write: a few scalar fields and a list of
 * items, sized to about 1 KB by the number of items.
 */

/** The order as an Avro schema, in `namespace` (a benchmark registers it under a name of its own). */
export function orderAvroSchema(namespace: string) {
  return {
    type: 'record',
    name: 'Order',
    namespace,
    fields: [
      { name: 'orderId', type: 'string' },
      { name: 'customer', type: 'long' },
      { name: 'total', type: 'double' },
      { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
      {
        name: 'items',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Item',
            fields: [
              { name: 'sku', type: 'string' },
              { name: 'quantity', type: 'int' },
              { name: 'price', type: 'double' },
              { name: 'note', type: ['null', 'string'], default: null },
            ],
          },
        },
      },
    ],
  };
}

/** Order number `i` with `itemCount` items; different `i` give different values. */
export function order(i: number, itemCount: number) {
  return {
    orderId: `ord-${100000 + i}`,
    customer: i % 977,
    total: Math.round(i * 13.37) / 100,
    currency: ['EUR', 'USD', 'GBP'][i % 3],
    items: Array.from({ length: itemCount }, (_, n) => ({
      sku: `SKU-${(i * 31 + n * 7919) % 100003}-${'x'.repeat(8)}`,
      quantity: 1 + ((i + n) % 9),
      price: ((i * 7 + n * 13) % 10000) / 100,
      note: n % 3 === 0 ? `gift wrap, deliver to door ${n}` : null,
    })),
  };
}

/** The fewest items whose encoding (`encode` gives its length) reaches `size` bytes. */
export function itemsFor(encode: (items: number) => number, size: number): number {
  let items = 1;
  while (encode(items) < size) items++;
  return items;
}
