#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go modules pinned in tools/pulumi/go.mod, for machines without an
# installed Pulumi CLI (its release downloads can't be had everywhere; the Go module proxy can), and
# prints the directory that holds it: the only thing this script writes to stdout (progress goes to
# stderr). scripts/pulumi.sh puts that directory first on PATH when `pulumi` isn't installed.
#
# The directory is ${PULUMI_CLI_CACHE:-.cache/pulumi-cli}/<version>/ and holds, all executable:
# - every `tool` of tools/pulumi/go.mod, built like a release (CGO_ENABLED=0, -trimpath, the version
#   stamped into the binary): today `pulumi` alone, see below;
# - two scripts that ship in the sdk/v3 module: pulumi-language-python-exec (the Python language host
#   runs it from the host's own directory) and pulumi-resource-pulumi-python (the provider of dynamic resources,
#   `python -u -m pulumi.dynamic`, found on PATH or beside `pulumi`).
# - pulumi-language-python, the Python language host, where this machine has one: see below.
# Once built it is reused as long as tools/pulumi/go.mod and go.sum are unchanged (a stamp file holds
# their hash). A build happens in a temporary directory and is moved into place only when it succeeded.
#
# The Python language host (pulumi-language-python) runs the program for preview, up, refresh and destroy.
# It is its own Go module, which the Go module proxy doesn't serve (tools/pulumi/go.mod says more), so it
# isn't built here. Where the repository sits beside a `shared` directory holding the real host, built from
# pulumi/pulumi's source (../shared/tools/pulumi-language-python/pulumi-language-python, with a README saying
# how), it is copied beside the CLI on every run where the copy is missing or differs, as an installed CLI
# has it; without it, the CLI built here manages stacks, state, config and outputs but cannot run the
# program (scripts/pulumi.sh says so; the end-to-end tests and the demo then use a stand-in host).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/tools/pulumi
cold_minutes=4 # measured: 14 s of downloads and 3.5 min of compiling on 2 cores, with empty Go caches
host_name=pulumi-language-python
shared_host=$root/../shared/tools/$host_name/$host_name

# The version: pkg/v3's (the CLI's module) in go.mod, which must be sdk/v3's too.
version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$tools/go.mod")
sdk_version=$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { print $2 }' "$tools/go.mod")
if [ -z "$version" ] || [ "$version" != "$sdk_version" ]; then
  echo "pulumi-cli.sh: tools/pulumi/go.mod must require github.com/pulumi/pulumi/pkg/v3 and sdk/v3 at one version" \
    "(found '$version' and '$sdk_version')" >&2
  exit 1
fi

# What gets built: each `tool` line of go.mod (single or in a block), named as `go build` names it (the
# last path element, or the one before a /vN major-version suffix).
mapfile -t packages < <(awk '$1 == "tool" && $2 != "(" { print $2 } $1 == "tool" && $2 == "(" { block = 1; next }
  block && $1 == ")" { block = 0 } block { print $1 }' "$tools/go.mod")
names=()
for package in "${packages[@]}"; do
  name=${package##*/}
  if [[ $name =~ ^v[0-9]+$ ]]; then name=${package%/*}; name=${name##*/}; fi
  names+=("$name")
done
shims=(pulumi-language-python-exec pulumi-resource-pulumi-python)

cache=${PULUMI_CLI_CACHE:-$root/.cache/pulumi-cli}
dir=$cache/$version
hash_of() { if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi; }
stamp=$(cat "$tools/go.mod" "$tools/go.sum" | hash_of | cut -d' ' -f1)

complete() { # $1 holds every executable, built from this go.mod and go.sum
  [ "$(cat "$1/.built-from" 2>/dev/null)" = "$stamp" ] || return 1
  local name
  for name in "${names[@]}" "${shims[@]}"; do [ -x "$1/$name" ] || return 1; done
}
# The real language host beside the CLI in $1, when this machine has one (see the top); atomic, so a run that
# started the CLI meanwhile sees the old copy or the new one.
add_host() {
  if [ -x "$shared_host" ] && ! cmp -s "$shared_host" "$1/$host_name"; then
    install -m 0755 "$shared_host" "$1/.$host_name.tmp.$$"
    mv -f "$1/.$host_name.tmp.$$" "$1/$host_name"
    echo "Copied the Python language host ${shared_host#"$root"/} beside the CLI in ${1#"$root"/}/" >&2
  fi
}
if complete "$dir"; then
  add_host "$dir"
  echo "$dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "pulumi-cli.sh: 'go' was not found: install Go 1.24 or newer (https://go.dev/doc/install) to build the" \
    "Pulumi CLI from source, or install the Pulumi CLI the normal way: https://www.pulumi.com/docs/install/" >&2
  exit 127
fi

echo "Building the Pulumi CLI $version from the Go module proxy into ${dir#"$root"/}/ (a cold build takes" \
  "about $cold_minutes minutes on 2 cores; later runs reuse it)..." >&2
SECONDS=0
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.tmp-$version.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.old"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0755 "$tmp"

export CGO_ENABLED=0 GOWORK=off
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
for i in "${!packages[@]}"; do
  (cd "$tools" && go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp/${names[$i]}" "${packages[$i]}") >&2
done
sdk_dir=$(cd "$tools" && go list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$tmp/pulumi-language-python-exec"
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$tmp/pulumi-resource-pulumi-python"

built=$("$tmp/pulumi" version)
if [ "$built" != "$version" ]; then
  echo "pulumi-cli.sh: the CLI built says it is '$built', not $version" >&2
  exit 1
fi
echo "$stamp" >"$tmp/.built-from"
add_host "$tmp"

# Into place: an older build (other go.mod/go.sum, or incomplete) is moved aside first. A build that ran
# at the same time and got there first is as good as this one.
if [ -e "$dir" ]; then mv "$dir" "$tmp.old"; fi
if ! mv -T "$tmp" "$dir" 2>/dev/null && ! complete "$dir"; then
  echo "pulumi-cli.sh: could not move the build into $dir" >&2
  exit 1
fi

echo "Built the Pulumi CLI $version in $((SECONDS / 60))m$((SECONDS % 60))s: $dir" >&2
if [ ! -x "$dir/$host_name" ]; then
  echo "Note: $host_name, the Python language host, isn't built (the Go module proxy doesn't serve it) and" \
    "${shared_host#"$root"/} isn't there: this CLI runs stack, state and config commands, but preview and up" \
    "need the host on PATH or an installed Pulumi CLI (https://www.pulumi.com/docs/install/)." >&2
fi
echo "$dir"
