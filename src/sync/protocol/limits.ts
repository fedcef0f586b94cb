import { MAX_FRAME_BYTES, MAX_PAGE_SIZE } from './types.js';

/** What a receiver of frames accepts (a hub sets them with `crsync serve`; clients use the protocol's). */
export interface FrameLimits {
  /** Largest frame, in bytes after decompression. */
  maxFrameBytes: number;
  /** Most changes in one page. */
  maxPageSize: number;
  /** Largest TEXT or BLOB value, and largest packed primary key, in bytes. */
  maxValueBytes: number;
}

/** The protocol's own limits: what every crsync receiver accepts. */
export const PROTOCOL_FRAME_LIMITS: FrameLimits = { maxFrameBytes: MAX_FRAME_BYTES, maxPageSize: MAX_PAGE_SIZE, maxValueBytes: MAX_FRAME_BYTES };
