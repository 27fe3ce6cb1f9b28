package jsonx

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Marshal is json.Marshal, except that every float64 that v holds (in
// struct fields, slices, arrays, maps and pointers, at any depth; not behind
// an interface) encodes as Float does: null when it is NaN or ±Inf, exactly
// as encoding/json writes it otherwise. Field names, tags, order and omitempty behave as for
// v itself. A value whose type has its own MarshalJSON, or a struct that
// embeds a type with methods (reflect cannot mirror it), is left to
// encoding/json.
//
// A result type whose fields can hold NaN gets its MarshalJSON from it:
//
//	func (r Result) MarshalJSON() ([]byte, error) {
//		type plain Result // the same fields without this method
//		return jsonx.Marshal(plain(r))
//	}
func Marshal(v any) ([]byte, error) {
	if v == nil {
		return json.Marshal(v)
	}
	src := reflect.ValueOf(v)
	p := planFor(src.Type())
	if p.to == src.Type() {
		return json.Marshal(v)
	}
	dst := reflect.New(p.to).Elem()
	p.copy(dst, src)
	return json.Marshal(dst.Interface())
}

// A plan maps a type to its mirror, in which float64 is Float, and copies a
// value into the mirror. A type without float64 mirrors to itself.
type plan struct {
	to   reflect.Type
	copy func(dst, src reflect.Value)
}

var (
	plans      sync.Map // reflect.Type -> *plan
	marshaler  = reflect.TypeFor[json.Marshaler]()
	floatType  = reflect.TypeFor[Float]()
	identity   = func(dst, src reflect.Value) { dst.Set(src) }
	planMu     sync.Mutex
	inProgress = map[reflect.Type]bool{}
)

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	p := build(t)
	// Only whole plans are kept: a part built while a recursive type was
	// in progress may have stopped short of its floats.
	plans.Store(t, p)
	return p
}

// build makes the plan of t; planMu is held. A recursive type mirrors to
// itself where it recurs.
func build(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	same := &plan{to: t, copy: identity}
	if inProgress[t] || t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) {
		return same
	}
	inProgress[t] = true
	defer delete(inProgress, t)
	p := same
	switch t.Kind() {
	case reflect.Float64:
		p = &plan{to: floatType, copy: func(dst, src reflect.Value) { dst.SetFloat(src.Float()) }}
	case reflect.Pointer:
		if e := build(t.Elem()); e.to != t.Elem() {
			p = &plan{to: reflect.PointerTo(e.to), copy: func(dst, src reflect.Value) {
				if !src.IsNil() {
					dst.Set(reflect.New(e.to))
					e.copy(dst.Elem(), src.Elem())
				}
			}}
		}
	case reflect.Slice:
		if e := build(t.Elem()); e.to != t.Elem() {
			to := reflect.SliceOf(e.to)
			p = &plan{to: to, copy: func(dst, src reflect.Value) {
				if !src.IsNil() {
					dst.Set(reflect.MakeSlice(to, src.Len(), src.Len()))
					for i := range src.Len() {
						e.copy(dst.Index(i), src.Index(i))
					}
				}
			}}
		}
	case reflect.Array:
		if e := build(t.Elem()); e.to != t.Elem() {
			p = &plan{to: reflect.ArrayOf(t.Len(), e.to), copy: func(dst, src reflect.Value) {
				for i := range src.Len() {
					e.copy(dst.Index(i), src.Index(i))
				}
			}}
		}
	case reflect.Map:
		if e := build(t.Elem()); e.to != t.Elem() {
			to := reflect.MapOf(t.Key(), e.to)
			p = &plan{to: to, copy: func(dst, src reflect.Value) {
				if src.IsNil() {
					return
				}
				dst.Set(reflect.MakeMapWithSize(to, src.Len()))
				it := src.MapRange()
				for it.Next() {
					v := reflect.New(e.to).Elem()
					e.copy(v, it.Value())
					dst.SetMapIndex(it.Key(), v)
				}
			}}
		}
	case reflect.Struct:
		p = buildStruct(t)
	}
	return p
}

// buildStruct mirrors the exported fields of t (encoding/json sees no
// others) with their names, tags and embedding.
func buildStruct(t reflect.Type) *plan {
	same := &plan{to: t, copy: identity}
	var fields []reflect.StructField
	var from []int
	var parts []*plan
	changed := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				return same // an unexported embedded struct's fields would be lost
			}
			continue // encoding/json ignores it too
		}
		if f.Anonymous && (f.Type.NumMethod() > 0 || f.Type.Kind() == reflect.Pointer) {
			return same
		}
		e := build(f.Type)
		if quoted(f.Tag) {
			e = &plan{to: f.Type, copy: identity} // ",string" applies to float64, not to a Marshaler
		}
		changed = changed || e.to != f.Type
		fields = append(fields, reflect.StructField{Name: f.Name, Type: e.to, Tag: f.Tag, Anonymous: f.Anonymous})
		from = append(from, i)
		parts = append(parts, e)
	}
	if !changed {
		return same
	}
	return &plan{to: reflect.StructOf(fields), copy: func(dst, src reflect.Value) {
		for j, i := range from {
			parts[j].copy(dst.Field(j), src.Field(i))
		}
	}}
}

// quoted reports whether a field's json tag has the ",string" option.
func quoted(tag reflect.StructTag) bool {
	_, opts, _ := strings.Cut(tag.Get("json"), ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == "string" {
			return true
		}
	}
	return false
}
