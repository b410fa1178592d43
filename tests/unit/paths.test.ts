import { describe, expect, it } from 'vitest';
import { isInside } from '../../src/main/core/paths';

describe('isInside', () => {
  it('knows the folder itself and what lies below it from what lies beside or above it', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c/d.png')).toBe(true);
    expect(isInside('/a/b', '/a/b/..hidden/x')).toBe(true); // a name that starts with two dots is still inside
    expect(isInside('/a/b', '/a')).toBe(false);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a/c/x')).toBe(false);
    expect(isInside('/a/b', '/')).toBe(false);
  });
});
