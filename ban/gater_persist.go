package ban

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/statefile"
)

// stateFormat is the first line of every saved ban table.
var stateFormat = statefile.Format{Magic: "peerscore-bans", Version: "v1"}

// stateLimits bound what Save writes and Load reads, so that whatever Save
// writes, Load accepts, and a hostile or damaged input cannot exhaust
// memory. Every Gater uses defaultStateLimits; tests lower them.
type stateLimits struct {
	size int // bytes in the whole state
	bans int
}

// defaultStateLimits: 16 MiB and 131,072 bans. A saved ban takes about 110
// bytes with a usual peer ID, so the count binds first; Lighthouse keeps
// at most 1,000 banned peers, and a table a hundred times larger is far
// beyond anything a Monitor makes.
var defaultStateLimits = stateLimits{size: 16 << 20, bans: 1 << 17}

// ErrInvalidState is wrapped by every error Load and LoadFile return for
// input that is not a saved ban table this version can read: empty,
// truncated, corrupt, an unknown version, or values out of range. Errors
// reading the input are returned as they are.
var ErrInvalidState = errors.New(errPrefix + ": invalid saved bans")

// stateBan is one ban as saved: a peer (base58, as peer.ID.String prints
// it) or a canonical prefix, and the end of the ban.
type stateBan struct {
	Peer   string    `json:"peer,omitempty"`
	Prefix string    `json:"prefix,omitempty"`
	Until  time.Time `json:"until"`
}

type stateFile struct {
	SavedAt time.Time  `json:"saved_at"`
	Bans    []stateBan `json:"bans"`
}

// Save writes the bans in force to w, so that a new Gater can Load them
// after a restart and a banned peer does not get back in when the node
// restarts. It writes the whole table with a single call to w.Write, and
// holds the Gater's lock only to copy the table. The format, version 1, is
// UTF-8 text in three lines, like the Scorer's saved state:
//
//	peerscore-bans v1
//	{"saved_at":"2025-01-02T03:04:05.123456789Z","bans":[
//	  {"peer":"12D3KooW...","until":"2025-01-02T04:04:05Z"},
//	  {"prefix":"192.0.2.0/24","until":"2025-01-03T00:00:00Z"}]}
//	sha256 <64 lowercase hex digits>
//
// (the second line is one line). Each ban is a peer or a prefix (a single
// address is a /32 or /128), with the end of the ban as a wall-clock time,
// RFC 3339, UTC, to the nanosecond; bans are sorted by peer ID or prefix.
// The third line is the SHA-256 of every byte before it, so that a
// truncated or damaged table is detected before anything in it is used.
//
// Whatever Save writes, Load accepts: Save never writes more than 16 MiB
// or 131,072 bans. Beyond that, the bans that end soonest are left out
// (and logged at warn level), so that those that would last longest after
// a restart are kept. A ban of a peer whose ID is longer than 256
// characters is left out too.
func (g *Gater) Save(w io.Writer) error {
	data, err := g.encodeState()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("%s: save: %w", errPrefix, err)
	}
	return nil
}

// encodeState encodes the bans in force, within the limits.
func (g *Gater) encodeState() ([]byte, error) {
	g.mu.RLock()
	savedAt := time.Now() // read under the lock: every ban made before it is in the table
	bans := make([]stateBan, 0, g.sizeLocked())
	for p, until := range g.bans {
		if savedAt.Before(until) {
			bans = append(bans, stateBan{Peer: p.String(), Until: until})
		}
	}
	for pfx, until := range g.ips.bans {
		if savedAt.Before(until) {
			bans = append(bans, stateBan{Prefix: pfx.String(), Until: until})
		}
	}
	g.mu.RUnlock()

	// The latest to end first: those are kept when not all fit.
	slices.SortFunc(bans, func(a, b stateBan) int { return b.Until.Compare(a.Until) })
	writable := slices.DeleteFunc(bans, func(b stateBan) bool { return len(b.Peer) > statefile.MaxPeerIDChars })
	unwritable := len(bans) - len(writable)
	data, saved, err := statefile.EncodeList(stateFormat, wallTime(savedAt), "bans", len(writable),
		func(i int) (statefile.Item, error) {
			b := writable[i]
			b.Until = wallTime(b.Until)
			out, err := json.Marshal(&b)
			return statefile.Item{Key: b.Peer + b.Prefix, JSON: out}, err
		}, g.limits.bans, g.limits.size)
	if err != nil {
		return nil, fmt.Errorf("%s: save: %w", errPrefix, err)
	}
	if left := len(writable) - saved + unwritable; left > 0 {
		g.logger.Warn("saved bans at their limit: left out the bans that end soonest",
			"saved", saved, "left_out", left, "limit_bytes", g.limits.size, "limit_bans", g.limits.bans)
	}
	return data, nil
}

// wallTime drops the monotonic reading and the location, leaving the
// instant as the state stores it.
func wallTime(t time.Time) time.Time { return t.Round(0).UTC() }

// Load reads a table written by Save and adds its bans to the Gater, each
// until the time it ends. It reads r to its end and checks all of it
// before changing anything: if the input is larger than 16 MiB, empty,
// truncated, corrupt, of another version or holds values out of range (a
// ban of neither a peer nor a prefix, a malformed peer ID or prefix, a ban
// listed twice), Load returns an error wrapping ErrInvalidState and the
// Gater is exactly as it was.
//
// A ban that has already ended (the node was down longer than that) is not
// restored, nor, with a warning in the log, a ban of a subnet wider than
// WithMinPrefixLen allows. The others are added as Ban and BanSubnet would add them: a
// ban already in force that ends later stays as it is. End times are
// wall-clock times, so the time the node was down counts.
func (g *Gater) Load(r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(g.limits.size)+1))
	if err != nil {
		return fmt.Errorf("%s: load: %w", errPrefix, err)
	}
	return g.loadState(data)
}

// restoredBan is a saved ban, checked: a peer or a canonical prefix.
type restoredBan struct {
	peer   peer.ID
	prefix netip.Prefix
	until  time.Time
}

func (g *Gater) loadState(data []byte) error {
	bans, err := decodeState(data, g.limits)
	if err != nil {
		return err
	}
	now := time.Now()
	var restored, ended int
	var wide []string
	for _, b := range bans {
		if !b.until.After(now) {
			ended++
			continue
		}
		if b.prefix.IsValid() && g.widest.check(b.prefix) != nil {
			wide = append(wide, b.prefix.String())
			continue
		}
		restored++
		if b.prefix.IsValid() {
			g.banPrefix(b.prefix, b.until)
		} else {
			g.ban(b.peer, b.until)
		}
	}
	if len(wide) > 0 {
		g.logger.Warn("saved bans of subnets wider than this Gater bans were left out (see ban.WithMinPrefixLen)",
			"left_out", len(wide), "subnets", wide[:min(len(wide), 8)], "widest_ipv4", g.widest.v4, "widest_ipv6", g.widest.v6)
	}
	g.logger.Debug("loaded saved bans", "restored", restored, "ended", ended)
	return nil
}

// decodeState checks a whole saved table and returns its bans.
func decodeState(data []byte, lim stateLimits) ([]restoredBan, error) {
	if len(data) > lim.size {
		return nil, invalidState("larger than %d bytes", lim.size)
	}
	var st stateFile
	if err := stateFormat.OpenJSON(data, &st); err != nil {
		return nil, invalidState("%v", err)
	}
	if len(st.Bans) > lim.bans {
		return nil, invalidState("%d bans, more than %d", len(st.Bans), lim.bans)
	}
	out := make([]restoredBan, len(st.Bans))
	peers := make(map[peer.ID]struct{})
	prefixes := make(map[netip.Prefix]struct{})
	for i := range st.Bans {
		b, err := checkBan(&st.Bans[i])
		if err != nil {
			return nil, invalidState("ban %d: %v", i, err)
		}
		dup := false
		if b.prefix.IsValid() {
			_, dup = prefixes[b.prefix]
			prefixes[b.prefix] = struct{}{}
		} else {
			_, dup = peers[b.peer]
			peers[b.peer] = struct{}{}
		}
		if dup {
			return nil, invalidState("ban %d: %s%s listed twice", i, st.Bans[i].Peer, st.Bans[i].Prefix)
		}
		out[i] = b
	}
	return out, nil
}

func checkBan(sb *stateBan) (restoredBan, error) {
	b := restoredBan{until: sb.Until}
	if sb.Until.IsZero() {
		return b, errors.New("no end time")
	}
	if sb.Until.After(maxUntil) {
		return b, fmt.Errorf("ends at %v, after year 9999 (UTC)", sb.Until.UTC())
	}
	switch {
	case sb.Peer != "" && sb.Prefix != "":
		return b, errors.New("both a peer and a prefix")
	case sb.Peer != "":
		id, err := statefile.DecodePeerID(sb.Peer)
		if err != nil {
			return b, err
		}
		b.peer = id
	case sb.Prefix != "":
		p, err := netip.ParsePrefix(sb.Prefix)
		if err != nil {
			return b, err
		}
		if c, _ := canonicalPrefix(p); c != p {
			return b, fmt.Errorf("prefix %q is not in canonical form (%s)", sb.Prefix, c)
		}
		b.prefix = p
	default:
		return b, errors.New("neither a peer nor a prefix")
	}
	return b, nil
}

func invalidState(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidState, fmt.Sprintf(format, args...))
}

// SaveFile saves the bans in force (see Save) to the file at path,
// atomically, as peerscore's Scorer.SaveFile does: a temporary file in the
// same directory, synced, renamed over path, the directory synced. A crash
// at any point leaves either the old file or the new one; on error path is
// untouched. The file is created with mode 0600. Temporary files an
// interrupted SaveFile left are removed first. Two processes must not save
// to the same path.
func (g *Gater) SaveFile(path string) error {
	data, err := g.encodeState()
	if err != nil {
		return err
	}
	if err := statefile.WriteFile(path, data, g.logger); err != nil {
		return fmt.Errorf("%s: save %s: %w", errPrefix, path, err)
	}
	return nil
}

// LoadFile loads the table saved at path (see Load), so that a node starts
// with the bans it had. A missing file is an error that satisfies
// errors.Is(err, fs.ErrNotExist): the first start. A file that is not a
// valid table (damaged, truncated, larger than 16 MiB, of another version)
// is moved aside, to path + ".damaged-" + the UTC time, and logged at
// error level (WithGaterLogger); LoadFile then returns an error wrapping
// ErrInvalidState and the Gater is left unchanged. Either way the node
// should start:
//
//	if err := gater.LoadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
//		logger.Warn("starting without saved bans", "err", err)
//	}
//
// LoadFile also removes the temporary files an interrupted SaveFile to
// path left in its directory, except those of SaveFile calls still
// running in this process.
func (g *Gater) LoadFile(path string) error {
	return statefile.Loader{
		What: "saved bans", Prefix: errPrefix, Limit: g.limits.size, Logger: g.logger, Invalid: ErrInvalidState,
		TooLarge: func() error { return invalidState("larger than %d bytes", g.limits.size) },
		Load:     g.loadState,
	}.LoadFile(path)
}
