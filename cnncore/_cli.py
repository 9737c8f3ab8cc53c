"""What cnncore's command lines share (python -m cnncore, its train and bench subcommands): the
help formatter that shows defaults, argument types that name what they expect, and the
one-line error exit."""
import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions and epilogs as written; each option's default appended to its help, unless the
    help already says it or there is nothing to show (None, False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or not action.option_strings or action.default is None
                or action.default is False or action.default is argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def _number(kind, low, low_open=False, high=None):
    """An argparse type: `kind` (int or float) >= low (> low if low_open, <= high if given)."""
    bound = ("> %s" if low_open else ">= %s") % low + ("" if high is None else " and <= %s" % high)
    what = "%s %s" % ("an integer" if kind is int else "a number", bound)

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (what, text))
        if v < low or (low_open and v == low) or (high is not None and v > high) or v != v:
            raise argparse.ArgumentTypeError("expected %s, got %s" % (what, text))
        return v

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = _number(int, 1)
nonnegative_int = _number(int, 0)
positive_float = _number(float, 0, low_open=True)
nonnegative_float = _number(float, 0)
fraction = _number(float, 0, high=1)
