import { memo } from "react";

/** A tiny line chart of the last values (oldest first), scaled to its own maximum. */
export const Sparkline = memo(function Sparkline({ values, width = 64, height = 16, testId, title }: {
  values: number[]; width?: number; height?: number; testId?: string; title?: string;
}) {
  const max = Math.max(1, ...values);
  const step = width / 59; // a full ring of 60 values spans the width; fewer start at the right
  const x0 = width - (values.length - 1) * step;
  const points = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
  const line = points.join(" ");
  const area = values.length > 1 ? `${x0.toFixed(1)},${height} ${line} ${width},${height}` : "";
  return (
    <svg className="fy-spark" data-testid={testId} data-points={values.join(",")} width={width} height={height}
         viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title ?? "flowfiles per second"}>
      {title && <title>{title}</title>}
      <line x1={0} y1={height - 0.5} x2={width} y2={height - 0.5} className="fy-spark-base" />
      {area && <polygon points={area} className="fy-spark-area" />}
      {values.length > 1 && <polyline points={line} className="fy-spark-line" />}
    </svg>
  );
});
