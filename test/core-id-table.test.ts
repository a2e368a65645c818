// core/id-table.ts, the table of live transactions and pending sends: against a Map as the
// model, for random runs of adds (ids only grow, with gaps), deletes in any order and clears.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from './fc.ts';
import { IdTable } from '../core/id-table.ts';

type Op = { add: number } | { del: number } | { clear: true };

test('IdTable agrees with a Map on get, has, size, values (in id order) and forEach', () => {
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: 3 }).map((gap): Op => ({ add: gap })) },
    { weight: 5, arbitrary: fc.nat(4000).map((k): Op => ({ del: k })) },
    { weight: 1, arbitrary: fc.constant<Op>({ clear: true }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
      const table = new IdTable<string>();
      const model = new Map<number, string>();
      let next = 1;
      for (const o of ops) {
        if ('add' in o) {
          next += o.add - 1;
          table.set(next, `v${next}`);
          model.set(next, `v${next}`);
          next++;
        } else if ('del' in o) {
          // Mostly ids that are present (any of them, not only the oldest), sometimes not.
          const ids = [...model.keys()];
          const id = ids.length > 0 && o.del % 5 !== 0 ? ids[o.del % ids.length]! : o.del;
          assert.is(table.delete(id), model.delete(id));
        } else {
          table.clear();
          model.clear();
        }
        assert.is(table.size, model.size);
      }
      for (let id = 0; id <= next; id++) {
        assert.is(table.get(id), model.get(id));
        assert.is(table.has(id), model.has(id));
      }
      assert.equal(table.values(), [...model.values()]);
      const seen: [number, string][] = [];
      table.forEach((v, id) => seen.push([id, v]));
      assert.equal(seen, [...model.entries()]);
      const firstOdd = [...model.entries()].find(([id]) => id % 2 === 1)?.[1];
      assert.is(
        table.find((v) => Number(v.slice(1)) % 2 === 1),
        firstOdd,
      );
    }),
    { numRuns: 200 },
  );
});

test('IdTable refuses an id that is not above those added before', () => {
  const table = new IdTable<number>();
  table.set(5, 5);
  assert.throws(() => table.set(5, 5), RangeError);
  assert.throws(() => table.set(3, 3), RangeError);
  table.delete(5);
  table.set(2, 2); // empty again: any id starts it afresh
  assert.is(table.get(2), 2);
});

test('IdTable drops its unused front and still finds every id after it', () => {
  const table = new IdTable<number>();
  for (let id = 1; id <= 5000; id++) table.set(id, id);
  for (let id = 1; id <= 4000; id++) table.delete(id);
  table.delete(4500);
  assert.is(table.size, 999);
  for (let id = 1; id <= 5001; id++) assert.is(table.get(id), id > 4000 && id <= 5000 && id !== 4500 ? id : undefined);
  table.set(5003, 5003);
  assert.is(table.values().length, 1000);
  assert.is(table.values()[999], 5003);
});

test.run();
