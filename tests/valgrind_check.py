"""Read a valgrind memcheck log (make valgrind) and fail if any error or definitely-lost block has
a frame in cnncore's extension (cnncore/_kernels*.so, csrc/, the Cython bindings).

CPython and NumPy keep a few objects alive for the life of the process by design (interned
objects, type caches made at import), which memcheck reports as definitely lost, and the
interpreter's own code trips memcheck's heuristics; those are not cnncore's and are counted,
listed by top frame, and ignored.

    python tests/valgrind_check.py valgrind.log
"""
import re
import sys

OURS = re.compile(r"_kernels\.|/csrc/|cnncore/_|\bcnn_\w+")


def reports(text):
    """(headline, frames) of each error or leak record in a memcheck log."""
    for block in re.split(r"\n==\d+== \n", text):
        lines = [re.sub(r"^==\d+==\s?", "", line) for line in block.strip().splitlines()]
        if not lines:
            continue
        head = lines[0]
        if ("definitely lost" in head or head.startswith(("Invalid", "Use of", "Conditional",
                                                          "Mismatched", "Syscall", "Source and"))):
            yield head, [line.strip() for line in lines[1:] if line.strip().startswith(("at ", "by "))]


def main(path):
    text = open(path).read()
    ours, others = [], {}
    for head, frames in reports(text):
        if any(OURS.search(f) for f in frames):
            ours.append((head, frames))
        else:
            key = "%s | %s" % (head.split(" in loss record")[0] if "lost" in head else head,
                               frames[1] if len(frames) > 1 else "")
            others[key] = others.get(key, 0) + 1
    summary = re.findall(r"(definitely lost: .*|ERROR SUMMARY: .*)", text)
    print("valgrind: %s" % "; ".join(summary))
    print("not cnncore's (CPython/NumPy/loader): %d records" % sum(others.values()))
    for head, frames in ours:
        print("CNNCORE: %s\n    %s" % (head, "\n    ".join(frames[:12])))
    if "ERROR SUMMARY" not in text:
        print("no ERROR SUMMARY: valgrind did not finish")
        return 1
    print("cnncore: %d errors or definite leaks" % len(ours))
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
