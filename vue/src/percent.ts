// A confidence (0 to 1) as a percentage for people: 0.8 → "80%", 0.125 → "12.5%".
// One decimal at most, so 0.999 reads "99.9%" and never rounds up to a certain "100%".
export function percent(confidence: number): string {
  const tenths = Math.floor(confidence * 1000 + 1e-9) / 10;
  return `${tenths}%`;
}
