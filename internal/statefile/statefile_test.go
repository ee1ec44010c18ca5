package statefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testFormat = Format{Magic: "test-state", Version: "v3"}

func seal(f Format, body string) []byte {
	buf := f.Begin(len(body))
	buf.WriteString(body)
	return f.Seal(buf)
}

// A sealed body opens to itself; anything else a damaged, truncated or
// foreign state can be is refused with a reason.
func TestFrame(t *testing.T) {
	valid := seal(testFormat, `{"a":1}`)
	require.Len(t, valid, len(`{"a":1}`)+testFormat.Overhead())
	body, err := testFormat.Open(valid)
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(body))

	flipped := bytes.Clone(valid)
	flipped[len("test-state v3\n")+2] ^= 1
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "empty input"},
		"other format":    {seal(Format{"other-state", "v3"}, "{}"), "not a test-state file"},
		"other version":   {seal(Format{"test-state", "v4"}, "{}"), `unsupported version "v4"`},
		"header only":     {[]byte("test-sta"), "truncated header"},
		"no newline":      {valid[:len(valid)-1], "no final newline"},
		"no body":         {[]byte("test-state v3\nsha256 00\n"), "missing lines"},
		"short checksum":  {append(bytes.Clone(valid[:len(valid)-10]), '\n'), "no checksum line"},
		"bit flip":        {flipped, "checksum mismatch"},
		"truncated":       {valid[:len(valid)/2], "no final newline"},
		"truncated lines": {valid[:len("test-state v3\n")+len(`{"a":1}`)+1], "missing lines"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := testFormat.Open(tc.data)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// EncodeList keeps the first items that fit, within the count and the
// size, and writes them sorted by key.
func TestEncodeList(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := []string{"d", "b", "c", "a"} // most important first
	item := func(i int) (Item, error) {
		b, err := json.Marshal(map[string]string{"k": keys[i]})
		return Item{Key: keys[i], JSON: b}, err
	}
	decode := func(t *testing.T, data []byte) []string {
		body, err := testFormat.Open(data)
		require.NoError(t, err)
		var st struct {
			SavedAt time.Time           `json:"saved_at"`
			List    []map[string]string `json:"list"`
		}
		require.NoError(t, json.Unmarshal(body, &st))
		require.Equal(t, at, st.SavedAt)
		var got []string
		for _, e := range st.List {
			got = append(got, e["k"])
		}
		return got
	}

	data, n, err := EncodeList(testFormat, at, "list", len(keys), item, 10, 1<<20)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, []string{"a", "b", "c", "d"}, decode(t, data))

	data, n, err = EncodeList(testFormat, at, "list", len(keys), item, 2, 1<<20)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"b", "d"}, decode(t, data))

	// Room for exactly three items: the fourth is left out, and the state
	// is exactly at the limit.
	full, _, _ := EncodeList(testFormat, at, "list", 3, item, 10, 1<<20)
	data, n, err = EncodeList(testFormat, at, "list", len(keys), item, 10, len(full))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Len(t, data, len(full))
	require.Equal(t, []string{"b", "c", "d"}, decode(t, data))

	_, _, err = EncodeList(testFormat, at, "list", 1, func(int) (Item, error) { return Item{}, io.ErrUnexpectedEOF }, 10, 1<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// WriteFile replaces the file whole and removes what a crashed write left;
// ReadFile refuses a file over the limit by its size; SetAside moves a
// damaged file away unless it was replaced since it was read.
func TestFiles(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	stale := filepath.Join(dir, ".state.tmp-123")
	other := filepath.Join(dir, ".state.tmp-12x")
	for _, p := range []string{stale, other} {
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o600))
	}

	require.NoError(t, WriteFile(path, []byte("first"), logger))
	require.NoError(t, WriteFile(path, []byte("second"), logger))
	data, info, err := ReadFile(path, 6)
	require.NoError(t, err)
	require.Equal(t, "second", string(data))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	require.NoFileExists(t, stale)
	require.FileExists(t, other, "not a temporary file of ours")
	require.Contains(t, logs.String(), "removed a temporary state file")

	_, _, err = ReadFile(path, 5)
	require.ErrorIs(t, err, ErrTooLarge)

	require.NoError(t, WriteFile(path, []byte("third"), logger))
	_, err = SetAside(path, info)
	require.ErrorContains(t, err, "replaced since it was read")
	_, info, err = ReadFile(path, 6)
	require.NoError(t, err)
	aside, err := SetAside(path, info)
	require.NoError(t, err)
	require.NoFileExists(t, path)
	moved, err := os.ReadFile(aside)
	require.NoError(t, err)
	require.Equal(t, "third", string(moved))
	require.Contains(t, aside, path+".damaged-")
}

func TestDecodePeerID(t *testing.T) {
	for _, id := range []string{"1", "11", "12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN", "z"} {
		p, err := DecodePeerID(id)
		require.NoError(t, err, id)
		require.Equal(t, id, p.String())
	}
	for _, bad := range []string{"", "0OIl", "with space", fmt.Sprintf("%0*d", MaxPeerIDChars+1, 1)} {
		_, err := DecodePeerID(bad)
		require.Error(t, err, bad)
	}
}

// OpenJSON decodes a sealed body strictly: an unknown field, a second
// value or a damaged frame is refused, and v is what the body says.
func TestOpenJSON(t *testing.T) {
	type body struct {
		A int `json:"A"`
	}
	var v body
	require.NoError(t, testFormat.OpenJSON(seal(testFormat, `{"A":7}`), &v))
	require.Equal(t, 7, v.A)
	for in, want := range map[string]string{
		`{"A":1,"B":2}`: `body: json: unknown field "B"`,
		`{"A":1} {}`:    "body: data after the JSON object",
		`{"A":"x"}`:     "body: json: cannot unmarshal",
		`[`:             "body: unexpected EOF",
	} {
		require.ErrorContains(t, testFormat.OpenJSON(seal(testFormat, in), &v), want, in)
	}
	// encoding/json would let both through: the last of two equal keys
	// wins, and a key matches a field whatever its case.
	type nested struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	}
	var n nested
	require.NoError(t, testFormat.OpenJSON(seal(testFormat, `{"list":[{"name":"a"},{"name":"b"}]}`), &n))
	for in, want := range map[string]string{
		`{"list":[],"list":[]}`:              `key "list" twice`,
		`{"list":[{"name":"a","name":"b"}]}`: `key "name" twice`,
		`{"List":[]}`:                        `key "List" is not one of the format's`,
		`{"list":[{"NAME":"a"}]}`:            `key "NAME" is not one of the format's`,
	} {
		require.ErrorContains(t, testFormat.OpenJSON(seal(testFormat, in), &n), want, in)
	}

	damaged := seal(testFormat, `{"A":8}`)
	damaged[len(damaged)-3] ^= 1
	v = body{}
	require.ErrorContains(t, testFormat.OpenJSON(damaged, &v), "checksum")
	require.Zero(t, v.A, "a damaged state decodes nothing")
}

// SetAsideLogged says where the damaged file went, or that it stayed
// because it was replaced since it was read, in its error and its log line.
func TestSetAsideLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	path := filepath.Join(t.TempDir(), "state")
	cause := fmt.Errorf("invalid saved state: test")

	require.NoError(t, WriteFile(path, []byte("damaged"), logger))
	_, read, err := ReadFile(path, 100)
	require.NoError(t, err)
	require.NoError(t, WriteFile(path, []byte("fresh"), logger))
	err = SetAsideLogged(logger, "saved things", path, read, cause)
	require.ErrorIs(t, err, cause)
	require.ErrorContains(t, err, "not moved aside: replaced since it was read")
	require.Contains(t, logs.String(), `msg="saved things are invalid; starting without them"`)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "fresh", string(data), "the replacing file stays")

	_, read, err = ReadFile(path, 100)
	require.NoError(t, err)
	err = SetAsideLogged(logger, "saved things", path, read, cause)
	require.ErrorIs(t, err, cause)
	require.ErrorContains(t, err, "moved to "+path+".damaged-")
	require.Contains(t, logs.String(), `msg="saved things are invalid; moved aside, starting without them"`)
	require.NoFileExists(t, path)
}
