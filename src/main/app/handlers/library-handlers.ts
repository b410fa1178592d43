/** The images, their classes and their labels (with undo and redo). */
import { changed, type Handlers, type StudioContext } from './context';

export function libraryHandlers(context: StudioContext) {
  const project = () => context.requireProject();
  return {
    'images.list': ({ filter, sort }) => project().images.list(filter, sort),
    'images.page': ({ filter, sort, offset, limit }) => project().images.page(filter, sort, offset, limit),
    'images.get': ({ id }) => project().images.get(id),

    'classes.list': () => project().classes.list(),
    'classes.create': ({ name, color }) => changed(context, 'classes', project().classes.create(name, color)),
    'classes.update': ({ id, ...changes }) => changed(context, 'classes', project().classes.update(id, changes)),
    'classes.reorder': ({ ids }) => changed(context, 'classes', project().classes.reorder(ids)),
    'classes.merge': ({ sourceId, targetId }) => changed(context, 'labels', project().classes.merge(sourceId, targetId)),
    'classes.delete': ({ id }) => changed(context, 'labels', project().classes.delete(id)),

    'labels.assign': ({ imageIds, classId }) => project().labels.assign(imageIds, classId),
    'labels.undo': () => project().labels.undo(),
    'labels.redo': () => project().labels.redo(),
    'labels.history': () => project().labels.history(),
  } satisfies Partial<Handlers>;
}
