"""``recplug-content``: the plugin's own command (embedding throughput)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recplug-content", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="items per second of an encoder on synthetic items")
    bench.add_argument("--kind", choices=("text", "clip"), default="text")
    bench.add_argument("--encoder", default=None, help="model folder or name (default: the model's default)")
    bench.add_argument("--items", type=int, default=2000, help="synthetic items to embed (default 2000)")
    bench.add_argument("--batch-size", type=int, default=64)
    bench.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda[:N]")
    bench.add_argument("--images", action="store_true", help="clip: embed 224x224 images too")
    bench.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    from recplug.errors import RecplugError

    try:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        from recplug_content.bench import bench_encode

        r = bench_encode(args.kind, args.encoder, n_items=args.items, batch_size=args.batch_size,
                         device=args.device, images=args.images)
    except RecplugError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{r['kind']} {r['encoder']} on {r['device']} ({r['precision']}), batch {r['batch_size']}, "
          f"dim {r['dim']}: {r['n_items']} items in {r['seconds']:.2f} s = {r['items_per_second']:,.0f} items/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
