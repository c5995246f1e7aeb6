/** `npm run bench`: every benchmark with its baseline, in one run. Figures go to BENCHMARKS.md. */
import { printOrderCreateFigures, runOrderCreateBench } from "./order-create-bench.js";
import { printProductReadFigures, runProductReadBench } from "./product-read-bench.js";
import { printTransportFigures, runTransportBench } from "./transport-bench.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
printTransportFigures(await runTransportBench());
printProductReadFigures(await runProductReadBench(seconds));
printOrderCreateFigures(await runOrderCreateBench(seconds));
