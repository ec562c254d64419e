#!/usr/bin/env bash
# What the workflows post on GitHub, with the gh CLI (docs/delivery.md):
#
#   github-report.sh comment PR_NUMBER BODY_FILE
#       Posts BODY_FILE on the pull request, or updates the comment that starts with the same first line (a
#       marker such as `<!-- routing-matrix: production -->`): one comment per stack, updated by each run.
#   github-report.sh preview-comment STACK OUTCOME OUTPUT_FILE
#       Prints the pull request comment (Markdown, its marker first) of a stack's `pulumi preview`, whose
#       output is OUTPUT_FILE and whose step ended with OUTCOME (success or failure).
#   github-report.sh drift-issue STACK OUTCOME OUTPUT_FILE
#       The drift check's issue, after `pulumi preview --expect-no-changes`: opened (or updated) when the
#       preview proposed changes, closed when it did not; a preview that failed otherwise leaves the issue
#       alone and fails (exit 1).
#
# Environment: GITHUB_REPOSITORY, GH_TOKEN (for gh), and GITHUB_SERVER_URL, GITHUB_RUN_ID (the run's link).
# Needs gh and jq, which GitHub's Ubuntu runners have.
set -euo pipefail

# What `pulumi preview --expect-no-changes` prints when the preview worked and proposed changes.
readonly CHANGES_PROPOSED="no changes were expected for preview but changes were proposed"
# GitHub refuses comments and issue bodies over 65536 characters: the output is cut to fit below that.
readonly OUTPUT_LIMIT=60000

die() {
  echo "github-report.sh: $*" >&2
  exit 2
}

run_url() {
  echo "${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/${GITHUB_RUN_ID:-0}"
}

# A command's output as a Markdown code block, its middle left out when it is too long for GitHub.
output_block() {
  local file=$1 size
  size=$(wc -c < "$file")
  echo '````text'
  if [ "$size" -le "$OUTPUT_LIMIT" ]; then
    cat "$file"
  else
    # Whole lines from the start (the changes) and from the end (the summary and any error).
    head -c $((OUTPUT_LIMIT / 2)) "$file" | sed '$d'
    echo "[... $((size - OUTPUT_LIMIT)) or more characters left out: the whole output is in the job log, $(run_url) ...]"
    tail -c $((OUTPUT_LIMIT / 2 - 500)) "$file" | sed '1d'
  fi
  echo '````'
}

# The number of the first item of a paginated GitHub list whose body starts with $2 (empty if none).
# $1: the list's API path; items are issues or comments (an issue list also holds pull requests).
find_by_marker() {
  # jq reads every page (stopping early would break gh's pipe), then keeps the first match.
  gh api --paginate "$1" | jq -rn --arg marker "$2" \
    '[inputs | .[] | select(.pull_request == null) | select((.body // "") | startswith($marker))
      | (.number // .id)] | .[0] // empty'
}

comment() {
  local pr=$1 body=$2 marker existing
  marker=$(head -n 1 "$body")
  [[ $marker == "<!--"* ]] || die "$body does not start with a marker (<!-- ... -->)"
  existing=$(find_by_marker "repos/$GITHUB_REPOSITORY/issues/$pr/comments" "$marker")
  if [ -n "$existing" ]; then
    gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" -F "body=@$body" > /dev/null
  else
    gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$pr/comments" -F "body=@$body" > /dev/null
  fi
}

preview_comment() {
  local stack=$1 outcome=$2 output=$3
  echo "<!-- pulumi-preview: $stack -->"
  if [ "$outcome" = success ]; then
    echo "### \`pulumi preview\`: $stack"
  else
    echo "### \`pulumi preview\`: $stack, **failed**"
  fi
  echo
  echo "Read with the live routes (\`--refresh\`), as the deploy after the merge runs (\`pulumi up --refresh\`):"
  echo "a route shown changing back from an edit made in the incident.io dashboard is reverted by the merge,"
  echo "and so is an edit made after this preview. Updated on each push; the job log: $(run_url)."
  echo
  output_block "$output"
}

drift_issue() {
  local stack=$1 outcome=$2 output=$3 marker digest body existing title
  marker="<!-- drift-check: $stack"
  existing=$(find_by_marker "repos/$GITHUB_REPOSITORY/issues?state=open&per_page=100" "$marker ")
  if [ "$outcome" = success ]; then
    echo "No drift on $stack: the live routes are what main declares."
    if [ -n "$existing" ]; then
      gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$existing/comments" \
        -f "body=No drift any more: the live routes of $stack are what main declares ($(run_url)). Closing." > /dev/null
      gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/$existing" -f state=closed > /dev/null
      echo "Closed issue #$existing."
    fi
    return 0
  fi
  if ! grep -qF "$CHANGES_PROPOSED" "$output"; then
    echo "::error::the drift check of $stack could not run: pulumi preview failed (its output is above); the drift issue is left as it was"
    return 1
  fi
  digest=$(grep -vF "$CHANGES_PROPOSED" "$output" | sha256sum | cut -c 1-16)
  body=$(mktemp)
  {
    echo "$marker $digest -->"
    echo "### Live alert routes of $stack differ from main"
    echo
    echo "The drift check ran the pull requests' \`pulumi preview --refresh --diff\` on main, and it proposes the"
    echo "changes below. They are what the next deploy (\`pulumi up --refresh\`) does: it reverts edits made in the"
    echo "incident.io dashboard to what \`Pulumi.$stack.yaml\` says, and applies merged changes not deployed yet."
    echo
    echo "- To keep a dashboard edit, put it in \`Pulumi.$stack.yaml\` in a pull request."
    echo "- To revert it now, run the deploy workflow (Actions, deploy, Run workflow)."
    echo
    echo "Each check updates this issue; the first one that finds no difference closes it. Last check: $(run_url)."
    echo
    output_block "$output"
  } > "$body"
  if [ -z "$existing" ]; then
    title="Drift: live alert routes of $stack differ from main"
    existing=$(gh api --method POST "repos/$GITHUB_REPOSITORY/issues" -f "title=$title" -F "body=@$body" --jq .number)
    echo "Drift on $stack: opened issue #$existing."
  else
    previous=$(gh api "repos/$GITHUB_REPOSITORY/issues/$existing" --jq '.body | split("\n") | .[0]')
    gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/$existing" -F "body=@$body" > /dev/null
    if [ "$previous" != "$marker $digest -->" ]; then
      gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$existing/comments" \
        -f "body=What differs has changed: the issue shows the latest check ($(run_url))." > /dev/null
      echo "Drift on $stack has changed: updated issue #$existing, with a comment."
    else
      echo "Drift on $stack, as before: updated issue #$existing."
    fi
  fi
  rm -f "$body"
}

[ $# -ge 1 ] || die "usage: github-report.sh comment|preview-comment|drift-issue ARGS... (see the top of this file)"
command=$1
shift
case $command in
  comment)
    [ $# -eq 2 ] || die "usage: github-report.sh comment PR_NUMBER BODY_FILE"
    comment "$@"
    ;;
  preview-comment)
    [ $# -eq 3 ] || die "usage: github-report.sh preview-comment STACK OUTCOME OUTPUT_FILE"
    preview_comment "$@"
    ;;
  drift-issue)
    [ $# -eq 3 ] || die "usage: github-report.sh drift-issue STACK OUTCOME OUTPUT_FILE"
    drift_issue "$@"
    ;;
  *)
    die "unknown command $command: comment, preview-comment or drift-issue"
    ;;
esac
