export {};
//# sourceMappingURL=frontend.js.map