/**
 * `npm run bench`: every benchmark with its baseline, in one run. Figures go to BENCHMARKS.md.
 * `npm run bench -- statistics` (or any part of a name, several allowed) runs only the matching
 * ones: transport, product-read, order-create, statistics-lag, statistics-read, topology, footprint,
 * admin-ui.
 */
import { printAdminUiFigures, runAdminUiBench } from "./admin-ui-bench.js";
import { printFootprintFigures, runFootprintBench } from "./footprint-bench.js";
import { printOrderCreateFigures, runOrderCreateBench } from "./order-create-bench.js";
import { printProductReadFigures, runProductReadBench } from "./product-read-bench.js";
import { printStatisticsLagFigures, runStatisticsLagBench } from "./statistics-lag-bench.js";
import { printStatisticsReadFigures, runStatisticsReadBench } from "./statistics-read-bench.js";
import { printTopologyFigures, runTopologyBench } from "./topology-bench.js";
import { printTransportFigures, runTransportBench } from "./transport-bench.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);

const benches: { name: string; run: () => Promise<void> }[] = [
  { name: "transport", run: async () => printTransportFigures(await runTransportBench()) },
  { name: "product-read", run: async () => printProductReadFigures(await runProductReadBench(seconds)) },
  { name: "order-create", run: async () => printOrderCreateFigures(await runOrderCreateBench(seconds)) },
  {
    name: "statistics-lag",
    run: async () =>
      printStatisticsLagFigures(await runStatisticsLagBench(Number(process.env.BENCH_LAG_SECONDS ?? 20))),
  },
  { name: "statistics-read", run: async () => printStatisticsReadFigures(await runStatisticsReadBench()) },
  { name: "topology", run: async () => printTopologyFigures(await runTopologyBench(seconds)) },
  { name: "footprint", run: async () => printFootprintFigures(await runFootprintBench()) },
  { name: "admin-ui", run: async () => printAdminUiFigures(await runAdminUiBench()) },
];

const filters = process.argv.slice(2);
const selected = benches.filter(
  (bench) => filters.length === 0 || filters.some((filter) => bench.name.includes(filter)),
);
if (selected.length === 0) {
  console.error(
    `no benchmark matches ${filters.join(", ")}; known: ${benches.map((b) => b.name).join(", ")}`,
  );
  process.exit(1);
}
for (const bench of selected) await bench.run();
