{
  "targets": [
    {
      "target_name": "marsd_ublk",
      "sources": ["src/addon.cc", "src/control.cc", "src/notify.cc", "src/queue.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-luring", "-lpthread"]
    }
  ]
}
