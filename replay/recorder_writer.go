package replay

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("peerscore/replay: "+format, args...)
}

// writer is the Recorder's one goroutine that touches the disk: it writes
// the events in the order they were queued, rotates the pairs of files
// and keeps them within the disk bound, and reads the peers' addresses
// again every WithAddrInterval.
type writer struct {
	r   *Recorder
	dir string

	next   uint64      // the number of the next pair
	older  []oldPair   // the closed pairs on disk, oldest first
	onDisk int64       // their size
	cur    *pairWriter // nil after a failure, until the next attempt
	start  *Extra      // the recording's start, repeated at the head of every pair

	// open are the peers with an open outbound stream and the addresses
	// last recorded for them: the peers the address poll reads.
	open map[peer.ID][]string

	spare []item // the batch before last, the queue's next backing array
	enc   encoder
	line  []byte // an extra's JSON
	dirty bool   // written since the last flush

	retryAt    time.Time // after a failure: when to open a pair again
	retryDelay time.Duration
}

// drainInterval is how often the writer takes what is queued, unless
// the queue fills faster (Recorder.enqueue wakes it). The files are
// flushed less often still (WithFlushInterval): nothing is lost by
// waiting, and the router's goroutines are spared a wake-up per event.
const drainInterval = 20 * time.Millisecond

type oldPair struct {
	trace, extra string
	size         int64
}

// newWriter takes stock of dir: pairs of earlier runs stay (and count
// against the disk bound), an extras file left alone by a crash goes, and
// numbering carries on after the highest number. It opens the first pair.
func newWriter(r *Recorder, dir string) (*writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errorf("%w", err)
	}
	pairs, err := listPairs(dir)
	if err != nil {
		return nil, err
	}
	w := &writer{r: r, dir: dir, next: 1, open: map[peer.ID][]string{}}
	for _, p := range pairs {
		w.next = max(w.next, p.n+1)
		if p.trace == "" {
			if err := removeIfExists(p.extra); err != nil {
				return nil, errorf("%w", err)
			}
			continue
		}
		size := fileSize(p.trace) + fileSize(p.extra)
		w.older = append(w.older, oldPair{trace: p.trace, extra: p.extra, size: size})
		w.onDisk += size
	}
	if err := w.openPair(); err != nil {
		return nil, err
	}
	w.bound()
	w.publish()
	return w, nil
}

func (w *writer) run() {
	defer close(w.r.done)
	flush := time.NewTicker(w.r.cfg.flushEvery)
	defer flush.Stop()
	drain := time.NewTicker(drainInterval)
	defer drain.Stop()
	var poll <-chan time.Time
	if w.r.cfg.host != nil {
		t := time.NewTicker(w.r.cfg.addrEvery)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-w.r.wake:
		case <-drain.C:
		case <-flush.C:
			w.flush()
		case <-poll:
			w.pollAddrs()
		case <-w.r.stop:
			w.writeBatch()
			w.closePair()
			w.publish()
			return
		}
		w.writeBatch()
	}
}

// writeBatch writes what is queued.
func (w *writer) writeBatch() {
	if hook := w.r.cfg.beforeBatch; hook != nil {
		hook()
	}
	batch := w.r.take(w.spare)
	if len(batch) == 0 {
		w.spare = batch
		return
	}
	for i := range batch {
		w.write(&batch[i])
		batch[i] = item{} // let the events go
	}
	w.spare = batch
	w.bound()
	w.publish()
}

// write writes one item, opening a pair first if a failure closed the
// last one, and closing the pair after it if it is full.
func (w *writer) write(it *item) {
	if it.kind == itemStart {
		w.start = &Extra{Kind: KindStart, At: it.at, Self: w.r.self.String(), Router: w.r.cfg.router}
	}
	if w.cur == nil && !w.reopen() {
		w.r.stats.dropped.Add(it.records())
		return
	}
	if err := w.cur.item(w, it); err != nil {
		w.r.stats.dropped.Add(it.records())
		w.fail(err)
		return
	}
	w.track(it)
	if w.cur.size() >= w.r.cfg.maxFile {
		if w.closePair() {
			if err := w.openPair(); err != nil {
				w.fail(err)
			}
		}
	}
}

// track keeps the set of peers with an open stream, for the address poll.
func (w *writer) track(it *item) {
	if w.r.cfg.host == nil {
		return // no poll
	}
	switch {
	case it.kind == itemKind(pb.TraceEvent_ON_NEW_OUTBOUND_STREAM) && it.more != nil:
		w.open[it.peer] = it.more.ips
	case it.kind == itemKind(pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM):
		delete(w.open, it.peer)
	case it.has(flagPoll):
		if _, ok := w.open[it.peer]; ok {
			w.open[it.peer] = it.more.ips
		}
	}
}

// flush makes what was written readable in the files.
func (w *writer) flush() {
	if w.cur == nil {
		w.reopen()
		return
	}
	if !w.dirty {
		return
	}
	if err := w.cur.flush(); err != nil {
		w.fail(err)
		return
	}
	w.dirty = false
	w.publish()
}

// bound deletes the oldest closed pairs while the files are over the disk
// bound. The pair being written is never deleted: it is at most
// WithMaxFileSize, which is no more than the bound.
func (w *writer) bound() {
	var cur int64
	if w.cur != nil {
		cur = w.cur.size()
	}
	for len(w.older) > 0 && w.onDisk+cur > w.r.cfg.maxDisk {
		old := w.older[0]
		w.older = w.older[1:]
		w.onDisk -= old.size
		// The trace file first: a crash between the two leaves an extras
		// file alone, which Open skips and the next Recorder deletes.
		err := errors.Join(removeIfExists(old.trace), removeIfExists(old.extra))
		if err != nil {
			w.r.stats.setErr(err)
			w.r.cfg.logger.Warn("peerscore/replay: recorder: cannot delete an old pair of files", "err", err)
			continue
		}
		w.r.stats.deleted.Add(1)
	}
}

// publish updates the counts Stats reads that only the writer knows.
func (w *writer) publish() {
	n, size := int64(len(w.older)), w.onDisk
	if w.cur != nil {
		n++
		size += w.cur.size()
	}
	w.r.stats.files.Store(n)
	w.r.stats.disk.Store(size)
}

// fail gives up the pair being written after an error: what is written
// stays readable up to the error, the events that follow are dropped and
// counted, and a new pair is tried after a delay that doubles up to a
// minute (a full disk is not hammered).
func (w *writer) fail(err error) {
	w.r.stats.setErr(err)
	w.r.cfg.logger.Error("peerscore/replay: recorder: writing the recording failed; events are dropped until a new pair of files opens", "err", err)
	if w.cur != nil {
		_ = w.cur.close()
		w.older = append(w.older, oldPair{trace: w.cur.tracePath, extra: w.cur.extraPath, size: w.cur.size()})
		w.onDisk += w.cur.size()
		w.cur = nil
	}
	w.retryDelay = min(max(2*w.retryDelay, w.r.cfg.flushEvery), time.Minute)
	w.retryAt = time.Now().Add(w.retryDelay)
	w.publish()
}

// reopen opens a new pair after a failure, once its delay has passed.
func (w *writer) reopen() bool {
	if time.Now().Before(w.retryAt) {
		return false
	}
	if err := w.openPair(); err != nil {
		w.fail(err)
		return false
	}
	w.bound()
	w.publish()
	return true
}

// openPair creates the next pair, its extras file first (see rotate.go),
// and writes the recording's start at its head.
func (w *writer) openPair() error {
	n := w.next
	w.next++
	traceName, extraName := pairName(n, w.r.cfg.gzip)
	p := &pairWriter{tracePath: filepath.Join(w.dir, traceName), extraPath: filepath.Join(w.dir, extraName)}
	var err error
	if p.xf, err = createNew(p.extraPath); err != nil {
		return err
	}
	if p.tf, err = createNew(p.tracePath); err != nil {
		_ = p.xf.Close()
		_ = os.Remove(p.extraPath)
		return err
	}
	// A pair's size is counted where it is known: uncompressed, as the
	// records go into the buffer (exact once flushed); compressed, as
	// gzip hands its blocks to the file (behind by what gzip holds, some
	// 64 KiB of records, a few KiB of file).
	if w.r.cfg.gzip {
		p.tc = &countingWriter{w: p.tf, total: &w.r.stats.bytes}
		p.xc = &countingWriter{w: p.xf, total: &w.r.stats.bytes}
		// The fastest level: the writer must keep up with a busy router,
		// and pubsub's records (random IDs) gain little from more effort.
		p.tgz, _ = gzip.NewWriterLevel(p.tc, gzip.BestSpeed)
		p.xgz, _ = gzip.NewWriterLevel(p.xc, gzip.BestSpeed)
		p.tb, p.xb = bufio.NewWriterSize(p.tgz, 4<<10), bufio.NewWriterSize(p.xgz, 4<<10)
		p.tw, p.xw = p.tb, p.xb
	} else {
		p.tb, p.xb = bufio.NewWriterSize(p.tf, 64<<10), bufio.NewWriterSize(p.xf, 16<<10)
		p.tc = &countingWriter{w: p.tb, total: &w.r.stats.bytes}
		p.xc = &countingWriter{w: p.xb, total: &w.r.stats.bytes}
		p.tw, p.xw = p.tc, p.xc
	}
	w.cur = p
	w.retryDelay = 0
	if w.start != nil {
		if err := p.extra(w, w.start.At, w.start); err != nil {
			return err
		}
	}
	return nil
}

// closePair closes the pair being written and keeps it among the older
// pairs. It reports whether that went well (a failure is recorded).
func (w *writer) closePair() bool {
	p := w.cur
	if p == nil {
		return false
	}
	err := p.close()
	w.cur = nil
	w.older = append(w.older, oldPair{trace: p.tracePath, extra: p.extraPath, size: p.size()})
	w.onDisk += p.size()
	w.dirty = false
	if err != nil {
		w.fail(err)
		return false
	}
	return true
}

// createNew creates path, which must not exist: a pair is never written
// over, and two Recorders on one directory fail rather than mix.
func createNew(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, errorf("%w", err)
	}
	return f, nil
}

// pairWriter writes one pair of files: trace events, length-delimited
// as pbio.NewDelimitedWriter writes them (pubsub's NewPBTracer), and
// extras, one JSON object per line.
type pairWriter struct {
	tracePath, extraPath string
	tf, xf               *os.File
	tc, xc               *countingWriter
	tgz, xgz             *gzip.Writer // nil without gzip
	tb, xb               *bufio.Writer
	tw, xw               io.Writer // where records go: the buffer, through a count without gzip
	count                uint64    // trace events written: the Seq of the next extra
}

// size is what the pair holds on disk (gzip's pending block aside).
func (p *pairWriter) size() int64 { return p.tc.n + p.xc.n }

// item writes it: its trace event and the extras that follow it, or an
// extra on its own.
func (p *pairWriter) item(w *writer, it *item) error {
	if !it.kind.isTrace() {
		x := Extra{Kind: extraKinds[it.kind]}
		if it.peer != "" {
			x.Peer = w.enc.peerString(it.peer)
		}
		switch it.kind {
		case itemStart:
			x.Self, x.Router = w.r.self.String(), w.r.cfg.router
		case itemValidate:
			x.ID, x.Topic = []byte(it.id), it.topic.s
		case itemWrite:
			x.Took = it.more.took
		case itemApp:
			x.Score = it.more.score
		case itemScores:
			x.Scores = it.more.scores
		case itemAddrs:
			x.IPs = it.more.ips
		}
		return p.extra(w, it.at, &x)
	}
	rec := w.enc.traceEvent(it, w.r.self)
	var head [binary.MaxVarintLen64]byte
	if _, err := p.tw.Write(head[:binary.PutUvarint(head[:], uint64(len(rec)))]); err != nil {
		return errorf("%s: %w", p.tracePath, err)
	}
	if _, err := p.tw.Write(rec); err != nil {
		return errorf("%s: %w", p.tracePath, err)
	}
	p.count++
	w.r.stats.events.Add(1)
	w.dirty = true
	if it.flags == 0 {
		return nil
	}
	peer := w.enc.peerString(it.peer)
	if it.has(flagAddrs) {
		if err := p.extra(w, it.at, &Extra{Kind: KindAddrs, Peer: peer, IPs: it.more.ips}); err != nil {
			return err
		}
	}
	if it.has(flagBackoffs) {
		if err := p.extra(w, it.at, &Extra{Kind: KindBackoffs, Peer: peer, Backoffs: it.more.backoffs}); err != nil {
			return err
		}
	}
	if it.has(flagExt) {
		if err := p.extra(w, it.at, &Extra{Kind: KindExtensions, Peer: peer}); err != nil {
			return err
		}
	}
	return nil
}

// extra writes x, at at, after the trace events written so far.
func (p *pairWriter) extra(w *writer, at int64, x *Extra) error {
	x.At, x.Seq = at, p.count
	w.line = appendExtra(w.line[:0], x)
	if _, err := p.xw.Write(w.line); err != nil {
		return errorf("%s: %w", p.extraPath, err)
	}
	w.r.stats.extras.Add(1)
	w.dirty = true
	return nil
}

// flush pushes everything written into the files: the trace first, so
// that the extras on disk never run ahead of the events they follow.
func (p *pairWriter) flush() error {
	var errs []error
	for _, f := range []struct {
		b  *bufio.Writer
		gz *gzip.Writer
	}{{p.tb, p.tgz}, {p.xb, p.xgz}} {
		errs = append(errs, f.b.Flush())
		if f.gz != nil {
			errs = append(errs, f.gz.Flush())
		}
	}
	return errors.Join(errs...)
}

// close flushes and closes both files; gzip's trailer makes them whole.
func (p *pairWriter) close() error {
	var errs []error
	for _, f := range []struct {
		b  *bufio.Writer
		gz *gzip.Writer
		f  *os.File
	}{{p.tb, p.tgz, p.tf}, {p.xb, p.xgz, p.xf}} {
		errs = append(errs, f.b.Flush())
		if f.gz != nil {
			errs = append(errs, f.gz.Close())
		}
		errs = append(errs, f.f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return errorf("closing %s: %w", p.tracePath, err)
	}
	return nil
}

// countingWriter counts the bytes that reach a file.
type countingWriter struct {
	w     io.Writer
	n     int64
	total *atomic.Uint64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.total.Add(uint64(n))
	return n, err
}
