// The runtime percentages meet the manifest here, and only here: a RouteTable plus the effective
// percent of each overridden route gives a new frozen RouteTable, which the nginx emitter
// compiles like any other. The manifest's table is never mutated.
import { deepFreeze, type Route, type RouteTable } from './route-table';

/** `percents`: route id -> effective percent; ids not in the table are ignored. */
export function withEffectivePercents(table: RouteTable, percents: ReadonlyMap<string, number>): RouteTable {
  if (![...percents].some(([id, p]) => table.routes.some((r) => r.id === id && r.canary.percent !== p))) return table;
  const routes = table.routes.map((r): Route => {
    const p = percents.get(r.id);
    return p === undefined || p === r.canary.percent ? r : { ...r, canary: { ...r.canary, percent: p } };
  });
  return deepFreeze({ ...table, routes });
}
