export function electronDir(): string;
export function electronBinary(): string | null;
