from azlab.cli import main

raise SystemExit(main())
