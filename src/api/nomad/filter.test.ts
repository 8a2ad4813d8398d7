import { describe, expect, it } from 'vitest';
import { compileFilter, FilterSyntaxError } from './filter.js';

// Stubs shaped as the list answers them.
const volumes = [
  { ID: 'web-data', Name: 'web data', PluginID: 'local', Schedulable: true, CurrentWriters: 1, CurrentReaders: 0, AccessMode: 'single-node-writer', Topologies: [{ Segments: { zone: 'a', rack: 'r1' } }], ExternalID: 'volumes/web-data.img', Tags: ['ssd', 'prod'] },
  { ID: 'db-0', Name: 'db', PluginID: 'fast', Schedulable: false, CurrentWriters: 0, CurrentReaders: 2, AccessMode: '', Topologies: [], ExternalID: '', Tags: [] },
  { ID: 'db-1', Name: 'db "primary"', PluginID: 'fast', Schedulable: true, CurrentWriters: 0, CurrentReaders: 0, AccessMode: 'multi-node-reader-only', Topologies: [{ Segments: { zone: 'b' } }], ExternalID: 'x', Tags: ['prod'] },
];

const ids = (expression: string): string[] => {
  const match = compileFilter(expression);
  return volumes.filter(match).map((v) => v.ID);
};

describe('Nomad filter expressions (go-bexpr)', () => {
  it.each([
    ['PluginID == "fast"', ['db-0', 'db-1']],
    ['PluginID != fast', ['web-data']],
    ['PluginID == `local`', ['web-data']],
    ['Schedulable == true', ['web-data', 'db-1']],
    ['Schedulable == false', ['db-0']],
    ['CurrentReaders == 2', ['db-0']],
    ['CurrentWriters != 0', ['web-data']],
    ['AccessMode is empty', ['db-0']],
    ['AccessMode is not empty', ['web-data', 'db-1']],
    ['Topologies is empty', ['db-0']],
    ['Topologies.Segments["zone"] == "a"', ['web-data']],
    ['Topologies.Segments.zone == b', ['db-1']],
    ['Topologies.Segments contains "rack"', ['web-data']],
    ['"ssd" in Tags', ['web-data']],
    ['prod in Tags', ['web-data', 'db-1']],
    ['"prod" not in Tags', ['db-0']],
    ['Tags contains "prod"', ['web-data', 'db-1']],
    ['Tags not contains "prod"', ['db-0']],
    ['Name contains "data"', ['web-data']],
    ['"prim" in Name', ['db-1']],
    ['ID matches "^db-[0-9]$"', ['db-0', 'db-1']],
    ['ID not matches "^db"', ['web-data']],
    ['Name == "db \\"primary\\""', ['db-1']],
    ['PluginID == fast and Schedulable == true', ['db-1']],
    ['PluginID == local or CurrentReaders == 2', ['web-data', 'db-0']],
    ['not (PluginID == fast)', ['web-data']],
    ['not PluginID == fast and not Schedulable == false', ['web-data']],
    ['(ID == db-0 or ID == db-1) and not Topologies is empty', ['db-1']],
    ['ExternalID == "volumes/web-data.img"', ['web-data']],
    ['Missing == "x"', []],
    ['Missing is empty', ['web-data', 'db-0', 'db-1']],
    ['Missing != "x"', ['web-data', 'db-0', 'db-1']],
  ])('%s', (expression, expected) => {
    expect(ids(expression)).toEqual(expected);
  });

  it.each([
    ['', 1],
    ['PluginID ==', 12],
    ['PluginID = "a"', 10],
    ['PluginID == "fast', 13],
    ['(PluginID == a', 15],
    ['PluginID == a and', 18],
    ['PluginID is fast', 13],
    ['Tags["x == "y"', 14],
    ['ID matches "("', 4],
    ['PluginID == a b', 15],
    ['== a', 1],
    ['PluginID ~ a', 10],
  ])('refuses %j with the position of the error', (expression, column) => {
    let caught: unknown;
    try {
      compileFilter(expression);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FilterSyntaxError);
    expect((caught as Error).message).toMatch(new RegExp(`^failed to read filter expression: 1:${column} \\(${column - 1}\\): `));
  });
});
