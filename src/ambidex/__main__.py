from ambidex.cli import main

raise SystemExit(main())
