/**
 * How much payload the reliable link (link.ts) puts in one frame now: FrameSize is pure arithmetic,
 * Traffic (which way payload flows) takes explicit time. docs/performance.md items 1 and 9 record
 * why each rule is there; "Frame size growth" there records the clean-line doubling and the
 * line-time cap, item 17 the cap by direction.
 *
 * ```ts
 * const size = new FrameSize();      // 1 KiB
 * size.acked(1024, 4096);            // a clean acknowledgement of a frame near the size
 * size.resent(1024);                 // a resend of one: halved, and the line is not clean
 * size.lossSeen();                   // a gap in what we receive: not clean either
 * size.cap = 1712;                   // what the direction of traffic allows now (Traffic.frameMs)
 * ```
 */

/**
 * Longest line time a frame may grow to on a line of known speed, ms. In a full-duplex echo the
 * return direction idles until the first frame has crossed, and lags by the largest frame from
 * then on: each frame is echoed only once it has crossed whole. Against that lag stands each
 * frame's overhead (its own 16 bytes and an answer the other way), so the best size grows with the
 * square root of the echo's length; for the bench's 2 s echo at 115200 it is ~1 KiB. Measured there
 * (docs/performance.md item 30): 2304-byte frames (200 ms) 89.5 % each way, 1712 (150 ms) 90.5 %,
 * 1 KiB (90 ms, the floor of `capFor`) 91.5 %. At 921600 the profiles' maxFrame (4 KiB host-bound)
 * stays below it.
 */
export const MAX_FRAME_MS = 90;

/**
 * The same while the other end sends no payload (a one-way bulk transfer), ms: nothing waits for our
 * frames to cross, so only the per-frame cost counts (at 115200, 1712-byte frames plus an
 * acknowledgement each cost 1.9 % of the line; 4085-byte SENDs 0.8 %). Long enough for the largest
 * SEND at 115200 (4085 B, 356 ms), short enough that an answer waiting behind two frames stays well
 * inside the keep-alive's 1.5 s.
 */
export const ONE_WAY_FRAME_MS = 400;
/** A frame from the other end with this much payload means it sends too (a request line does not). */
const PEER_PAYLOAD_BYTES = 256;
/**
 * How long our payload must flow with none coming back before frames grow to ONE_WAY_FRAME_MS, ms:
 * longer than our first frame plus the other end's first answer in an echo (two MAX_FRAME_MS frames,
 * with room for a late loop). Not longer: a download's first frames until then are small ones.
 */
export const ONE_WAY_AFTER_MS = 300;
/** A pause this long in our payload ends a run: the next transfer starts at MAX_FRAME_MS again, ms. */
const RUN_GAP_MS = 1000;

/**
 * Which way payload flows, for the frame size's line-time cap: one way (ONE_WAY_FRAME_MS), or both
 * ways or not known yet (MAX_FRAME_MS). Explicit time, like the link.
 */
export class Traffic {
  private runStart = 0;
  private lastSent = Number.NEGATIVE_INFINITY;
  private peerAt = Number.NEGATIVE_INFINITY;

  /** We sent a frame with `payload` bytes. */
  sent(payload: number, now: number): void {
    if (payload === 0) return;
    if (now - this.lastSent > RUN_GAP_MS) this.runStart = now;
    this.lastSent = now;
  }

  /** A numbered frame with `payload` bytes arrived. */
  received(payload: number, now: number): void {
    if (payload >= PEER_PAYLOAD_BYTES) this.peerAt = now;
  }

  /** Longest line time our next frame may take. */
  frameMs(now: number): number {
    const flowing = now - this.lastSent <= RUN_GAP_MS && now - this.runStart >= ONE_WAY_AFTER_MS;
    return flowing && now - this.peerAt >= ONE_WAY_AFTER_MS ? ONE_WAY_FRAME_MS : MAX_FRAME_MS;
  }
}

export interface FrameSizeSnapshot {
  limit: number;
  own: number;
  lossFree: boolean;
}

/** Payload a link's frames start at, and the least a cap or a growth step sets them to, bytes (see learnt). */
const FIRST_FRAME_BYTES = 1024;

export class FrameSize {
  /**
   * Largest payload worth putting in one frame, as learnt from the line. On a noisy line a long frame is more likely
   * to be hit than to arrive (4 KiB at 2e-4 errors per byte: 56 % lost), so every resend halves
   * it (down to 256 bytes), and after that 16 frames acknowledged without a resend let it grow by
   * half; until the first loss it doubles per four frames' worth acknowledged (see acked).
   * It starts at 1 KiB: a frame already sent cannot shrink, and a 4 KiB frame resent on such a line
   * fails more often than not, so its timeout backs off to seconds (measured: the lossy-line
   * scenario's download stalled 5 s on one such frame). 1 KiB frames cost 1.7 % of line rate.
   */
  private learnt = FIRST_FRAME_BYTES;
  /**
   * Most payload the direction of traffic allows now (see capFor). It caps the size in use without changing what was learnt, and only the size in use is
   * tested: a frame held below the cap says nothing about larger ones.
   */
  cap = Number.POSITIVE_INFINITY;
  private cleanAcks = 0;
  /** Payload bytes acknowledged cleanly since the size last changed. */
  private cleanBytes = 0;
  /** No frame near the current size was resent yet: the line may be clean. */
  private lossFree = true;
  /** Payload bytes received in order, after no gap, since the size last grew on them (see peerClean). */
  private peerBytes = 0;
  /** What our own acknowledged frames have shown (learnt without the other end's frames; see peerClean). */
  private ownLearnt = this.learnt;

  private readonly traffic = new Traffic();
  private oneWayAt = false;

  /** We sent a frame with `payload` bytes (Traffic). */
  sent(payload: number, now: number): void {
    this.traffic.sent(payload, now);
  }

  /** A numbered frame with `payload` bytes arrived (Traffic). */
  heard(payload: number, now: number): void {
    this.traffic.received(payload, now);
  }

  /**
   * Sets `cap` for `now`: what fits in the line time the direction of traffic allows (`line.bytesIn`;
   * Infinity on a line of unknown speed), never below the 1 KiB a frame starts at (a slow line's
   * 150 ms is less; when this was only a ceiling on growth, 1 KiB was the floor there too).
   */
  capFor(now: number, line: { bytesIn(ms: number): number }): void {
    const ms = this.traffic.frameMs(now);
    this.oneWayAt = ms === ONE_WAY_FRAME_MS;
    this.cap = Math.max(FIRST_FRAME_BYTES, line.bytesIn(ms));
  }

  /** Our payload flowed one way at the last capFor (Traffic: ONE_WAY_FRAME_MS): the other end only answers. */
  get oneWay(): boolean {
    return this.oneWayAt;
  }

  /** Largest payload worth putting in one frame now. */
  get limit(): number {
    return Math.min(this.learnt, this.cap);
  }

  /** Only a frame near the current size tests it (see acked). */
  tests(bytes: number): boolean {
    return bytes >= this.limit / 2;
  }

  /**
   * A frame with `bytes` of payload was acknowledged without a resend; `largest` = what the line
   * allows (64 KiB, or MAX_FRAME_MS of a line of known speed). Only a frame near the current size
   * counts: 300 empty SEND responses acknowledged during an upload had grown it to 64 KiB, and the
   * download's first DATA frames (16 KiB, 96 % lost on the lossy line) then failed every resend until
   * the link was declared dead. Until the first loss it doubles per four frames' worth: at 1.5x per
   * 16 frames the device's DATA frames at 115200 stayed 1 KiB for most of a 4 s download. Four, not
   * two: a clean run is evidence of a loss rate below about one per that many bytes, and at two the
   * lossy line's download (2e-4 per byte) reached 8 KiB frames before its first loss in about one
   * run in sixteen, then lost most of them (measured: bench noisy row, download 11-16 % in 2 of 4).
   */
  acked(bytes: number, largest: number): void {
    if (!this.tests(bytes)) return;
    this.cleanBytes += bytes;
    const due = this.lossFree ? this.cleanBytes >= 4 * this.limit : ++this.cleanAcks >= 16;
    if (!due) return;
    this.cleanAcks = 0;
    this.cleanBytes = 0;
    if (this.cap < this.learnt) return; // frames held below what was learnt: nothing larger was tested
    this.grow(Math.ceil(this.learnt * (this.lossFree ? 2 : 1.5)), largest);
    this.ownLearnt = this.learnt;
  }

  /**
   * A numbered frame with `bytes` of payload arrived in order, after no gap. Until the first loss it
   * counts as one of ours acknowledged would (the line loses bytes both ways alike; a gap is a loss,
   * lossSeen): four frames' worth of at least half the size doubles it, up to `largest`, whatever the
   * cap of the moment (the evidence is the other end's frames, not ours). So a download that follows
   * an upload starts at the size the upload showed clean, where it began at 1 KiB again (the device
   * only sent empty answers: measured at 115200, 22 DATA frames where 13 do, docs/performance.md
   * item 25). Provisional: a loss takes it back to what our own frames showed (lossSeen).
   */
  peerClean(bytes: number, largest: number): void {
    if (!this.lossFree || bytes < this.learnt / 2) return;
    this.peerBytes += bytes;
    if (this.peerBytes < 4 * this.learnt) return;
    this.peerBytes = 0;
    this.grow(this.learnt * 2, largest);
  }

  /** Raises the size learnt to `grown`, but not past what the line allows (`largest`); never lowers it. */
  private grow(grown: number, largest: number): void {
    this.learnt = Math.max(this.learnt, Math.min(grown, Math.max(FIRST_FRAME_BYTES, largest)));
  }

  /**
   * A frame with `bytes` of payload is resent. Only a frame near the current size says the size is
   * wrong: a late empty response does not (measured: start-up timeouts of small requests had halved
   * it to 256 B before an upload).
   */
  resent(bytes: number): void {
    if (!this.tests(bytes)) return;
    this.learnt = Math.max(256, Math.floor(Math.min(this.limit, 8192) / 2));
    this.cleanAcks = 0;
    this.cleanBytes = 0;
    this.lossFree = false;
    this.ownLearnt = this.learnt;
  }

  /**
   * The line lost something in the other direction (a frame arrived after a gap): it is not clean,
   * whatever our own frames have seen so far. Growth goes the slow way; the size our own frames
   * showed stays, what only the other end's frames showed (peerClean) is taken back.
   */
  lossSeen(): void {
    if (this.lossFree) this.learnt = Math.min(this.learnt, this.ownLearnt);
    this.lossFree = false;
  }

  snapshot(): FrameSizeSnapshot {
    return { limit: this.learnt, own: this.ownLearnt, lossFree: this.lossFree };
  }

  /** A timeout was false (link.ts checkSpurious): what it did to the size is undone. */
  restore(s: FrameSizeSnapshot): void {
    this.learnt = Math.max(this.learnt, s.limit);
    this.ownLearnt = Math.max(this.ownLearnt, s.own);
    this.lossFree ||= s.lossFree;
  }
}
