package statefile

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Item is one element of a state's list: its JSON, and the key the list is
// written in the order of.
type Item struct {
	Key  string
	JSON []byte
}

// EncodeList writes a state of format f whose body is the JSON object
// {"saved_at":savedAt,"<field>":[...]}, as much of it as the limits allow:
// at most maxItems items and maxSize bytes in all. item(i) returns the
// i-th of n items, the most important first; they are taken in that order
// and the encoding stops at the first that does not fit, so that the ones
// left out are the least important and a list far over the limit costs no
// more than one at it. The items written are sorted by key. EncodeList
// returns the state and how many items it holds; its errors are item's.
func EncodeList(f Format, savedAt time.Time, field string, n int, item func(i int) (Item, error), maxItems, maxSize int) ([]byte, int, error) {
	head, err := json.Marshal(struct {
		SavedAt time.Time `json:"saved_at"`
	}{savedAt})
	if err != nil {
		return nil, 0, err
	}
	name, err := json.Marshal(field)
	if err != nil {
		return nil, 0, err
	}
	// {"saved_at":"..." then ,"field":[ ... ]}
	open := append(append(head[:len(head)-1:len(head)-1], ','), name...)
	open = append(open, ":["...)
	const closing = "]}"
	used := f.Overhead() + len(open) + len(closing)
	var kept []Item
	for i := range n {
		if len(kept) == maxItems {
			break
		}
		it, err := item(i)
		if err != nil {
			return nil, 0, err
		}
		need := len(it.JSON)
		if len(kept) > 0 {
			need++ // the comma
		}
		if used+need > maxSize {
			break
		}
		used += need
		kept = append(kept, it)
	}
	slices.SortFunc(kept, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })

	buf := f.Begin(used - f.Overhead())
	buf.Write(open)
	for i, it := range kept {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it.JSON)
	}
	buf.WriteString(closing)
	return f.Seal(buf), len(kept), nil
}
