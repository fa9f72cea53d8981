/** Injection tokens of the platform's providers. */
export const CONFIG = Symbol('dataspace:config');
export const LOGGER = Symbol('dataspace:logger');
