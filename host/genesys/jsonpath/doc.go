// Package jsonpath evaluates JSONPath the way Genesys Cloud's data action
// translation map does, with the semantics of Jayway JsonPath (the Java
// library Genesys uses). It is a pure library for the data-action
// emulator: Compile a path once, Eval it against decoded JSON many times.
//
// # Syntax
//
// $ (root), .name and ['name'] (with '...' or "..." and backslash
// escapes), ['a','b'], [0], [-1] (from the end), [0,2], slices [1:3], [:2],
// [-2:] (no step), wildcards .* and [*], deep scan ..name, ..* and ..[...],
// filters [?(...)], and a final .length(). As in Jayway a path that starts
// with neither $ nor @ is read as "$." + path (so "['a'].b" works), and a
// dot may precede a bracket ("$.['a']").
//
// Filters combine comparisons with && || ! and parentheses. Operands are
// @-relative or $-rooted paths (length() included) and literals: 'strings',
// "strings", numbers, true, false, null. Comparisons are == != < <= > >=;
// a lone path tests that it resolves ([?(@.isbn)]). Values of different
// JSON types are never equal (1 is not '1', as the Jayway README says);
// numbers compare by value, strings by bytes. A path operand that resolves
// nothing (Jayway evaluates them with REQUIRE_PROPERTIES) equals nothing,
// so != is true for it. Jayway's =~, in, nin, subsetof, anyof, noneof,
// size, empty, JSON literals and the functions other than length() are
// not supported and fail to compile.
//
// # Results
//
// A definite path — no wildcard, deep scan, filter, slice, several indexes
// or non-leaf names — yields one value or nothing. An indefinite path
// yields a []any of all matches, possibly empty. Several names at the end
// of a path (['a','b']) merge into one object, which is definite, as in
// Jayway.
//
// "Nothing" follows Jayway's PathNotFoundException: a definite path whose
// member or index is missing, or any path whose definite prefix steps into
// a missing member or a value of the wrong type ("$.results[0].data..x"
// when results[0] has no data). Past the first indefinite step, misses are
// skipped instead, so "$.a[*].b" over elements without b is an empty list,
// not nothing. Genesys applies translationMapDefaults when a path resolves
// nothing; Genesys does not document whether an empty list counts, so this
// package reports [] as found: it is a value Jayway returns without an
// exception, and the defaults of the reference export
// Get-On-Queue-Agent-Counts ("$.results[0].data..qualifier" → ["Error"])
// fit exactly the not-found case (no data in the result).
//
// A filter on an object tests the object itself; on an array, each
// element. Deep scan visits a node before its children; a scanned filter
// ("$..[?(@.isbn)]") tests every object and array. "$..x.length()" is the
// number of children of all matches, as Jayway rewrites it. length() of
// anything but an array or object is null. Go maps do not keep member
// order, so wildcards and deep scans visit object members in sorted key
// order where Jayway follows the document.
package jsonpath
