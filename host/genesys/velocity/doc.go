// Package velocity renders the Apache Velocity subset that Genesys Cloud
// data action templates use (requestUrlTemplate, header values,
// requestTemplate, successTemplate). It is a pure library for the
// data-action emulator: parse a template once with Parse, render it many
// times with Template.Render.
//
// Genesys does not document its Velocity version; this package follows
// Velocity 1.7 wherever 1.7 and 2.x differ, and says so below.
//
// # References
//
// $name, ${name}, followed by .property, .method(args) and [index] (a
// negative index counts from the end). Identifiers are a letter or '_'
// then letters, digits, '_' and '-' (1.7 allows hyphens; Genesys input
// names may contain them). A reference whose value is null — missing, or
// null in the data — renders as written ("${input.x}" stays "${input.x}");
// the quiet forms $!name and $!{name} render nothing instead. A backslash
// escapes a reference that has a value (\$a renders "$a"); before a null
// reference the backslashes render as written, as in Velocity.
//
// # Directives
//
// #if/#elseif/#else/#end, #set($x = expr), #foreach($x in expr)...#end
// with $foreach.index/count/hasNext/first/last/parent, $velocityCount and
// $velocityHasNext, #break, the brace forms #{if}, comments ## and #* *#,
// and unparsed blocks #[[ ]]#. A '#' that starts no directive is text.
// #macro, #parse, #include, #evaluate, #define and #stop are syntax errors.
// As in 1.7, a directive swallows the spaces and line break that follow it
// on its line, and #set also its indentation. #set ignores a null
// value (the variable keeps its previous value), and only plain $name can
// be set, so rendering never modifies the caller's data.
//
// # Expressions
//
// Literals: 'plain', "interpolated $refs" (a doubled quote is a quote),
// integers, decimals, true, false, null, [lists], [from..to] ranges and
// {maps}. Operators, loosest first: || or; && and; == != eq ne;
// < <= > >= lt le gt ge; + -; * / %; ! not and unary -. #if truth is
// Velocity 1.7's: null and false are false and every other value —
// including "" and 0 — is true (2.x would make "" and 0 false; templates
// that must work under both compare explicitly: #if("$!x" != "")).
// == compares numbers by value, same-kind values by content, and values of
// different kinds by their string forms. < <= > >= compare numbers only
// (otherwise false). + concatenates when either side is a string; integer
// arithmetic stays integral (5 / 2 is 2); division by zero is null.
//
// # Tools and methods
//
//   - $esc.jsonString(s), $esc.jsonEncode(s): s escaped for inside a JSON
//     string, without quotes (quote, backslash, control characters; '/' and
//     non-ASCII are left as they are, which decodes to the same string).
//   - $esc.url(s), $esc.urlFormEncode(s): Java's URLEncoder (form encoding,
//     space becomes +). $esc.uriEncode(s): RFC 3986 percent-encoding.
//     $esc.d, .h, .b, .q, .s, .e, .n (and long names): $ # \ " ' ! newline.
//   - $encoding.base64(s): standard base64 of s's UTF-8 bytes.
//   - $successTemplateUtils.firstFromArray(json[, default]): the JSON text
//     of the first element of a JSON array, else default (or "").
//   - $salesforce.escReserved(s): s with SOSL reserved characters
//     (? & | ! { } [ ] ( ) ^ ~ * : \ " ' + -) escaped by a backslash.
//   - $math: add sub mul div max min abs ceil floor round roundTo toInteger
//     toDouble, typed as MathTool types its results.
//   - Strings: length isEmpty toString trim toUpperCase toLowerCase
//     substring replace contains startsWith endsWith equals
//     equalsIgnoreCase indexOf lastIndexOf concat (indexes in UTF-16 units,
//     as in Java). Maps: get containsKey size isEmpty keySet values.
//     Lists: get size isEmpty contains. Anything: toString.
//
// A tool method given null returns null, so the reference renders as
// written — as Genesys does for $esc.jsonString($input.missing). Numbers
// from the input (json.Number) render exactly as sent; computed decimals
// render as Java's Double.toString does ("2.5", "3.0", "1.0E7"). Maps and
// lists render as Java's toString, keys sorted: {a=1, b=x}, [1, 2].
//
// Rendering is bounded by MaxOutput, MaxIterations and a total budget of
// strings built; exceeding one is an error wrapping ErrLimit.
package velocity
