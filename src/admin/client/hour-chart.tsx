/**
 * Orders by hour of the day (UTC) as 24 bars, drawn in SVG: no chart library, nothing from a CDN,
 * and every bar carries its hour and count for screen readers (and tests).
 */
import type { HourCount } from "./api-types.js";

const WIDTH = 960;
const HEIGHT = 260;
const LEFT = 40;
const BOTTOM = 24;
const TOP = 16;

export function HourChart(props: { hours: readonly HourCount[]; label: string }) {
  const counts = Array.from(
    { length: 24 },
    (_, hour) => props.hours.find((h) => h.hour === hour)?.count ?? 0,
  );
  const max = Math.max(1, ...counts);
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / 24;
  const ticks = [0, Math.round(max / 2), max].filter((tick, index, all) => all.indexOf(tick) === index);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={props.label} class="hour-chart">
        {ticks.map((tick) => {
          const y = TOP + plotHeight - (tick / max) * plotHeight;
          return (
            <g class="tick">
              <line x1={LEFT} x2={WIDTH - 8} y1={y} y2={y} />
              <text x={LEFT - 6} y={y + 4} text-anchor="end">
                {tick}
              </text>
            </g>
          );
        })}
        {counts.map((count, hour) => {
          const height = (count / max) * plotHeight;
          const x = LEFT + hour * slot + slot * 0.15;
          return (
            <g class="bar" data-hour={hour} data-count={count}>
              <rect x={x} y={TOP + plotHeight - height} width={slot * 0.7} height={height}>
                <title>{`${String(hour).padStart(2, "0")}:00 UTC — ${count} ${count === 1 ? "order" : "orders"}`}</title>
              </rect>
              {hour % 3 === 0 && (
                <text x={x + slot * 0.35} y={HEIGHT - 6} text-anchor="middle" class="hour-label">
                  {String(hour).padStart(2, "0")}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>{props.label}</figcaption>
    </figure>
  );
}
