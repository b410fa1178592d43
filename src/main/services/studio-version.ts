/** The studio's version, written into exported heads. */
export const STUDIO_VERSION = '0.1.0';
