package statefile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// checkKeys refuses what encoding/json lets through but a state written
// by its saver never holds: a key given twice in one object (json keeps
// the last, so a file could read one way to a person and another to the
// node) and a key that matches a field only when case is ignored. body has
// already decoded into a value of type t, so its syntax is sound.
func checkKeys(body []byte, t reflect.Type) error {
	names, open := fieldNames(t)
	type object struct {
		keyNext bool
		keys    map[string]struct{}
	}
	var stack []*object // nil entries are arrays
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1] != nil {
			stack[n-1].keyNext = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := (*object)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.keyNext {
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("key %q twice in one object", key)
			}
			if _, known := names[key]; !known && !open {
				return fmt.Errorf("key %q is not one of the format's (keys are case-sensitive)", key)
			}
			top.keys[key] = struct{}{}
			top.keyNext = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{keyNext: true, keys: make(map[string]struct{})})
		case json.Delim('['):
			stack = append(stack, nil)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// fieldNames returns the JSON names of the fields of every struct type t
// holds, as encoding/json spells them, and whether t holds a map, whose
// keys are data rather than names (then only repeated keys are refused).
// Types that decode themselves (time.Time) are leaves.
func fieldNames(t reflect.Type) (names map[string]struct{}, open bool) {
	names = make(map[string]struct{})
	seen := make(map[reflect.Type]bool)
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] || reflect.PointerTo(t).Implements(unmarshaler) {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map:
			open = true
			walk(t.Elem())
		case reflect.Struct:
			for f := range t.Fields() {
				tag := f.Tag.Get("json")
				if !f.IsExported() || tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if name == "" {
					name = f.Name
				}
				names[name] = struct{}{}
				walk(f.Type)
			}
		}
	}
	walk(t)
	return names, open
}
