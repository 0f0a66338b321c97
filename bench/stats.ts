export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function report(title: string, rows: [string, string, string][]): void {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [name, value, target] of rows)
    console.log(`${name.padEnd(width)}  ${value.padStart(14)}   ${target}`);
}
