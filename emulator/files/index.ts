/** The emulated board's file store (`/flash`); see store.ts. */
export { DirectoryBacking, type FileBacking, MemoryBacking } from './backing.js';
export { FLASH_ROOT, type FlashPath, PATH_LIMITS, parseFlashPath } from './paths.js';
export { FILE_STORE_DEFAULTS, type FileEntry, FileStore, type FileStoreOptions } from './store.js';
