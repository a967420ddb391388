export function Console() {
  return <p>Console</p>;
}
